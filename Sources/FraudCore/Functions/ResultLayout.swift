import RedisClient

/// The one layout of a decided result in the Functions calls that record decisions: the worker's
/// `fs_write_batch` and the scoring API's `fs_record_decisions` pass each result as these values, in this order,
/// and both are written by the same Lua (`write_result` in `fraudstream_results.lua`): the results-stream entry,
/// the review entry with its feature vector, the run statistics (per-scenario recall, per-rule hits and precision,
/// both models' histograms) and the counts over time.
///
/// The Lua reads the offsets by name from a prelude generated from this enum (``FunctionLibrary``), never from
/// literal numbers.
public enum ResultLayout: Int, CaseIterable, Sendable {
    /// The input stream entry id (the worker), or empty (the API).
    case sourceId = 0
    case transactionId
    case userId
    case runId
    /// ``WriteBatchCall/scoreText(_:)`` of the score.
    case score
    /// `1` or `0`.
    case isFraud
    case decision
    /// Comma-separated reason codes.
    case reasons
    case modelVersion
    /// `1`, `0`, or empty when unknown.
    case label
    /// Receipt to decision on the server's clock, µs (the API); empty: from the stream entry id to the write (the worker).
    case latencyMicroseconds
    case queueMilliseconds
    case featuresMilliseconds
    case scoringMilliseconds
    case amount
    /// `1` when the answer was given without state (the API), else `0`.
    case degraded
    /// The shadow model's score, or empty.
    case shadowScore
    /// `1`, `0`, or empty without a shadow model.
    case shadowIsFraud
    /// The shadow model's version, or empty.
    case shadowModelVersion
    /// The feature vector of a review decision (comma-separated), empty otherwise.
    case features
    /// ``WriteBatchCall/scoreBucket(_:)`` of the score.
    case scoreBucket
    /// ``WriteBatchCall/scoreBucket(_:)`` of the shadow score, or empty.
    case shadowScoreBucket
    /// The fraud scenario of labelled fraud, empty otherwise.
    case scenario
    /// The rule set version that applied the rules, empty when none did (a degraded answer).
    case rulesVersion
    /// `1` when the entry carries the decision's full evidence (`RESULT_EVIDENCE=full`): the transaction's contract
    /// fields below and the feature vector of every decision, not only a review's; else empty, and so are they.
    case evidence
    case merchantId
    case currency
    case cardProvider
    case merchantCategory
    /// Latitude and longitude, named as the data contract names them.
    case lat
    case lon
    case deviceId
    case ip
    /// The event time, epoch ms.
    case timestamp

    /// Values per result.
    public static let count = allCases.count
    private static let order = allCases

    /// What is recorded of one decision.
    public struct Values {
        public var sourceId = ""
        public var transaction: Transaction
        public var decision: ScoredDecision
        /// nil: the worker's (from the entry id).
        public var latencyMicroseconds: Int64?
        public var queueMilliseconds: String
        public var featuresMilliseconds: String
        public var scoringMilliseconds: String
        public var degraded = false
        /// The feature vector (written for a review decision, or for every decision with `evidence`).
        public var vector: [Double]?
        /// Whether the entry carries the full evidence (``ResultLayout/evidence``).
        public var evidence = false

        public init(
            sourceId: String = "", transaction: Transaction, decision: ScoredDecision, latencyMicroseconds: Int64?, queueMilliseconds: String,
            featuresMilliseconds: String, scoringMilliseconds: String, degraded: Bool = false, vector: [Double]?, evidence: Bool = false
        ) {
            self.sourceId = sourceId
            self.transaction = transaction
            self.decision = decision
            self.latencyMicroseconds = latencyMicroseconds
            self.queueMilliseconds = queueMilliseconds
            self.featuresMilliseconds = featuresMilliseconds
            self.scoringMilliseconds = scoringMilliseconds
            self.degraded = degraded
            self.vector = vector
            self.evidence = evidence
        }
    }

    /// Appends one result's values to `command`, in the layout's order.
    public static func append(_ values: Values, to command: inout RedisCommand) {
        let transaction = values.transaction
        let decision = values.decision
        for value in order {
            switch value {
            case .sourceId: command.append(values.sourceId)
            case .transactionId: command.append(transaction.transactionId)
            case .userId: command.append(transaction.userId)
            case .runId: command.append(transaction.runId ?? "")
            case .score: command.append(WriteBatchCall.scoreText(decision.score))
            case .isFraud: command.append(decision.isFraud ? "1" : "0")
            case .decision: command.append(decision.decision)
            case .reasons: command.append(decision.reasons)
            case .modelVersion: command.append(decision.modelVersion)
            case .label: command.append(transaction.isFraud.map { $0 ? "1" : "0" } ?? "")
            case .latencyMicroseconds: command.append(values.latencyMicroseconds.map(String.init) ?? "")
            case .queueMilliseconds: command.append(values.queueMilliseconds)
            case .featuresMilliseconds: command.append(values.featuresMilliseconds)
            case .scoringMilliseconds: command.append(values.scoringMilliseconds)
            case .amount: command.append(transaction.amount)
            case .degraded: command.append(values.degraded ? "1" : "0")
            case .shadowScore: command.append(decision.shadowScore.map(WriteBatchCall.scoreText) ?? "")
            case .shadowIsFraud: command.append(decision.shadowIsFraud.map { $0 ? "1" : "0" } ?? "")
            case .shadowModelVersion: command.append(decision.shadowModelVersion.map(String.init) ?? "")
            case .scoreBucket: command.append(WriteBatchCall.scoreBucket(decision.score))
            case .shadowScoreBucket: command.append(decision.shadowScore.map { String(WriteBatchCall.scoreBucket($0)) } ?? "")
            case .scenario: command.append(transaction.isFraud == true ? WriteBatchCall.scenarioLabel(transaction.scenario) : "")
            case .rulesVersion: command.append(decision.rulesVersion.map(String.init) ?? "")
            case .evidence: command.append(values.evidence ? "1" : "")
            case .merchantId: command.append(values.evidence ? transaction.merchantId : "")
            case .currency: command.append(values.evidence ? transaction.currency : "")
            case .cardProvider: command.append(values.evidence ? transaction.cardProvider ?? "" : "")
            case .merchantCategory: command.append(values.evidence ? transaction.merchantCategory ?? "" : "")
            case .lat: command.append(values.evidence ? transaction.latitude.map { "\($0)" } ?? "" : "")
            case .lon: command.append(values.evidence ? transaction.longitude.map { "\($0)" } ?? "" : "")
            case .deviceId: command.append(values.evidence ? transaction.deviceId ?? "" : "")
            case .ip: command.append(values.evidence ? transaction.ip ?? "" : "")
            case .timestamp: command.append(values.evidence ? String(transaction.timestampMilliseconds) : "")
            case .features:
                if decision.decision == "review" || values.evidence, let vector = values.vector {
                    // Written byte by byte (shortest round-trip decimals): String(format:) cost a review ~25 µs.
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(vector.count * 8)
                    for (position, number) in vector.enumerated() {
                        if position > 0 { bytes.append(UInt8(ascii: ",")) }
                        number.appendRedisBytes(to: &bytes)
                    }
                    command.append(bytes: bytes)
                } else {
                    command.append("")
                }
            }
        }
    }
}

/// The Lua prelude of a Functions library: tables of argument offsets by name, generated from the Swift layouts, so
/// the Lua never carries a literal offset that could drift from the Swift side.
enum LuaPrelude {
    /// `local <name> = {snake_case = rawValue, ...}` for every case of `type`.
    static func table<Layout: CaseIterable & RawRepresentable>(_ name: String, _ type: Layout.Type) -> String where Layout.RawValue == Int {
        let entries = Layout.allCases.map { "\(snakeCase(String(describing: $0))) = \($0.rawValue)" }
        return "local \(name) = {\(entries.joined(separator: ", "))}"
    }

    /// `sourceId` → `source_id`, `statsTTLSeconds` → `stats_ttl_seconds`.
    static func snakeCase(_ name: String) -> String {
        let characters = Array(name)
        var result = ""
        for (index, character) in characters.enumerated() {
            if character.isUppercase, index > 0 {
                let previous = characters[index - 1]
                let next = index + 1 < characters.count ? characters[index + 1] : nil
                if !previous.isUppercase || next?.isLowercase == true { result += "_" }
            }
            result += character.lowercased()
        }
        return result
    }

    /// `source` with `prelude` inserted after its `#!lua` line.
    static func inserting(_ prelude: [String], into source: String) -> String {
        guard !prelude.isEmpty, let newline = source.firstIndex(of: "\n") else { return source }
        let header = source[...newline]
        return header + "-- Generated from the Swift layouts at load time (LuaPrelude).\n" + prelude.joined(separator: "\n") + "\n"
            + source[source.index(after: newline)...]
    }
}
