/// Checks delivered entries against the data contract: valid ones become transactions to score,
/// the rest dead letters with a reason (malformed, or delivered more than `--max-deliveries` times).
public struct EntryValidator: Sendable {
    /// Entries delivered more often than this are dead-lettered instead of scored again.
    public let maxDeliveries: Int

    /// Creates a validator.
    public init(maxDeliveries: Int) {
        self.maxDeliveries = maxDeliveries
    }

    /// Splits `entries`, in order, into transactions to score and dead letters.
    public func validate(_ entries: [DeliveredEntry]) -> (items: [BatchItem], deadLetters: [DeadLetter]) {
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
                    runId: runId(), fields: entry.fields))
                continue
            }
            switch TransactionParser.parse(entry.fields) {
            case .success(let transaction):
                items.append(BatchItem(sourceId: entry.id, transaction: transaction))
            case .failure(let rejection):
                deadLetters.append(DeadLetter(sourceId: entry.id, reason: rejection.reason, runId: runId(), fields: entry.fields))
            }
        }
        return (items, deadLetters)
    }
}
