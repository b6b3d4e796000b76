import Foundation

/// Checks delivered entries against the data contract: valid ones become transactions to score,
/// the rest dead letters with a reason (malformed, or delivered more than `--max-deliveries` times).
public struct EntryValidator: Sendable {
    /// Entries delivered more often than this are dead-lettered instead of scored again.
    public let maxDeliveries: Int
    /// The oldest plausible event time, epoch ms (default 2000-01-01).
    public let earliestTimestampMilliseconds: Int64
    /// How far in the future an event time may be, in ms (default 366 days: `generate` runs event time
    /// ahead of the clock so a few thousand users keep human pacing; set one day for real traffic).
    public let maxClockSkewMilliseconds: Int64
    /// The largest acceptable `amount` (`MAX_AMOUNT`, 10^9).
    public let maximumAmount: Double
    /// Replaces the listed identifiers of valid transactions and of dead letters (`PSEUDONYMIZE`), or nil.
    public let pseudonymizer: Pseudonymizer?

    /// 366 days in milliseconds.
    public static let defaultMaxClockSkewMilliseconds: Int64 = 366 * 86_400_000
    /// 2000-01-01T00:00:00Z in epoch milliseconds.
    public static let defaultEarliestTimestampMilliseconds: Int64 = 946_684_800_000

    /// Creates a validator.
    public init(
        maxDeliveries: Int, earliestTimestampMilliseconds: Int64 = EntryValidator.defaultEarliestTimestampMilliseconds,
        maxClockSkewMilliseconds: Int64 = EntryValidator.defaultMaxClockSkewMilliseconds,
        maximumAmount: Double = TransactionParser.defaultMaximumAmount, pseudonymizer: Pseudonymizer? = nil
    ) {
        self.pseudonymizer = pseudonymizer
        self.maxDeliveries = maxDeliveries
        self.maximumAmount = maximumAmount
        self.earliestTimestampMilliseconds = earliestTimestampMilliseconds
        self.maxClockSkewMilliseconds = maxClockSkewMilliseconds
    }

    /// Why a parsed event time is implausible, or `nil`. Epoch seconds in the millisecond field are the
    /// usual mistake: they read as January 1970 and would corrupt the user's windows and travel speed.
    public func implausibleTimestamp(_ milliseconds: Int64, nowMilliseconds: Int64) -> String? {
        if milliseconds < earliestTimestampMilliseconds {
            let hint = milliseconds < 100_000_000_000 ? " (epoch seconds? the field is epoch milliseconds)" : ""
            return "timestamp \(milliseconds) is before \(earliestTimestampMilliseconds) ms\(hint)"
        }
        if milliseconds > nowMilliseconds + maxClockSkewMilliseconds {
            return "timestamp \(milliseconds) is more than \(maxClockSkewMilliseconds) ms in the future"
        }
        return nil
    }

    /// Splits `entries`, in order, into transactions to score and dead letters.
    public func validate(
        _ entries: [DeliveredEntry], nowMilliseconds: Int64 = Int64(Date().timeIntervalSince1970 * 1000)
    ) -> (items: [BatchItem], deadLetters: [DeadLetter]) {
        var items: [BatchItem] = []
        items.reserveCapacity(entries.count)
        var deadLetters: [DeadLetter] = []
        for entry in entries {
            // Only dead letters need the run id from the raw fields; valid entries carry it parsed. An invalid
            // run id counts under no run (`none`): it must not create statistics keys either.
            func runId() -> String {
                guard let runId = entry.fields.first(where: { $0.0 == "run_id" })?.1, TransactionParser.isValidRunId(runId) else { return "" }
                return runId
            }
            if entry.deliveries > maxDeliveries {
                deadLetters.append(DeadLetter(
                    sourceId: entry.id, reason: "delivered \(entry.deliveries) times (max \(maxDeliveries))",
                    runId: runId(), fields: kept(entry.fields), kind: "max_deliveries"))
                continue
            }
            let invalid = entry.invalidUTF8Fields.isEmpty ? [] : Set(entry.invalidUTF8Fields)
            switch TransactionParser.parse(entry.fields, maximumAmount: maximumAmount, invalidUTF8: invalid) {
            case .success(let transaction):
                if let problem = implausibleTimestamp(transaction.timestampMilliseconds, nowMilliseconds: nowMilliseconds) {
                    deadLetters.append(DeadLetter(
                        sourceId: entry.id, reason: problem, runId: runId(), fields: kept(entry.fields), kind: "implausible_timestamp"))
                } else {
                    items.append(BatchItem(sourceId: entry.id, transaction: pseudonymizer?.apply(transaction) ?? transaction))
                }
            case .failure(let rejection):
                deadLetters.append(DeadLetter(
                    sourceId: entry.id, reason: rejection.reason, runId: runId(), fields: kept(entry.fields), kind: rejection.code))
            }
        }
        return (items, deadLetters)
    }

    /// What a dead letter keeps of an entry's fields: all of them, but with pseudonymization on, the listed
    /// identifiers as pseudonyms and a JSON `data` field (which may hold them) withheld.
    func kept(_ fields: [(String, String)]) -> [(String, String)] {
        guard let pseudonymizer else { return fields }
        return pseudonymizer.apply(fields).map { $0.0 == "data" ? ($0.0, "(withheld: PSEUDONYMIZE is on and it may hold identifiers)") : $0 }
    }
}
