import RedisClient

/// `fs_write_batch`: writes a batch's results, dead letters and statistics and acknowledges its
/// entries, in one atomic call.
///
/// Why one atomic call: if results were written and the acknowledgement sent separately, a crash or a
/// lost connection in between would leave written-but-pending entries that another worker then claims
/// and writes again. The function writes and acknowledges only the entries still pending for this
/// consumer, so a retry or a claim never writes twice (the full reasoning heads
/// `fraudstream_results.lua`).
///
/// The layouts are defined here once: ``Key`` and ``Argument`` give the order the command is built in,
/// ``ResultValue`` and ``DeadLetterValue`` the records inside it (their widths travel in the call, so
/// the Lua holds no record sizes), and ``Reply`` the reply, decoded into ``WriteBatchReply``.
public struct WriteBatchCall: Sendable {
    /// The function's name in ``FunctionLibrary/results``.
    public static let function = "fs_write_batch"
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count
    /// Values per result record.
    public static let valuesPerResult = ResultLayout.count
    /// Values of a dead-letter record before its name/value pairs.
    public static let deadLetterHeaderValues = DeadLetterValue.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The input stream, whose entries are acknowledged.
        case inputStream = 1
        /// The results stream.
        case resultsStream
        /// The dead-letter stream.
        case deadLetterStream
        /// The consumer-name lease (``ConsumerLease/key(streams:consumer:)``), checked before anything is written.
        case consumerLease
        /// The review queue (``ReviewKeys/stream``): every `review` decision is appended there too.
        case reviewStream
        /// The archive's hold on the results stream (``ArchiveHold``), read to trim it.
        case archiveHold
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The consumer group.
        case group = 1
        /// This worker's consumer name.
        case consumer
        /// Approximate `MAXLEN` of the results stream (0 = none).
        case resultsMaxLength
        /// TTL of the per-transaction result key in s (0 = no key).
        case resultTTLSeconds
        /// The worker id written with each result and counted in statistics.
        case workerId
        /// The key namespace (result keys and statistics).
        case namespace
        /// Number of result records R.
        case resultCount
        /// Number of dead-letter records D.
        case deadLetterCount
        /// Approximate `MAXLEN` of the dead-letter stream (0 = none).
        case deadLetterMaxLength
        /// The smallest entry id of the batch (bounds the `XPENDING` query).
        case lowestId
        /// The largest entry id of the batch.
        case highestId
        /// ``WriteBatchCall/valuesPerResult``.
        case valuesPerResult
        /// ``WriteBatchCall/deadLetterHeaderValues``.
        case deadLetterHeaderValues
        /// TTL in s of every statistics key the call writes (`STATS_TTL`), refreshed by each batch.
        case statsTTLSeconds
        /// This worker's lease token; empty skips the check. A lease held under another token fences the
        /// call off: it writes and acknowledges nothing and fails with `LEASELOST`.
        case leaseToken
        /// ``TimeSeriesKeys/prefix``: where the fraud counts over time go.
        case timeSeriesPrefix
        /// How long they are kept, s; 0 writes none.
        case timeSeriesRetentionSeconds
        /// ``RunStatisticsKeys/base`` of the run statistics the call adds to.
        case statsBase
        /// The first of R result records, then D dead-letter records.
        case firstRecord
    }

    /// One result's values: the layout both recording calls share.
    public typealias ResultValue = ResultLayout

    /// The values of a dead-letter record before its pairs, by offset; the last one is the pair count K,
    /// and K name/value pairs of the original entry follow.
    public enum DeadLetterValue: Int, CaseIterable, Sendable {
        /// The input entry id.
        case sourceId = 0
        /// Why it is dead-lettered.
        case reason
        /// The run id, or empty.
        case runId
        /// K, the number of name/value pairs that follow.
        case fieldCount
    }

    /// The reply's elements by position (1-based).
    public enum Reply: Int, CaseIterable, Sendable {
        /// Results written (their entries were still pending for this consumer).
        case written = 1
        /// Dead letters written.
        case deadLettered
        /// The first result's end-to-end latency in µs (-1 when skipped), then one per further result.
        case firstLatency
    }

    private static let argumentOrder = Argument.allCases
    private static let deadLetterOrder = DeadLetterValue.allCases

    /// Stream names, group, consumer, limits and namespace of the writing worker.
    public let configuration: WorkerConfiguration

    /// The writing worker's lease token, or empty when it holds none (tests, tools).
    public let leaseToken: String

    /// Creates the call for a worker holding the consumer-name lease under `leaseToken`.
    public init(configuration: WorkerConfiguration, leaseToken: String = "") {
        self.configuration = configuration
        self.leaseToken = leaseToken
    }

    /// `FCALL fs_write_batch` for `batch`'s items (with their decisions) and dead letters.
    public func command(_ batch: Batch) -> RedisCommand {
        var command = RedisCommand(
            "FCALL", Self.function, Self.keyCount, configuration.transactionStream, configuration.resultsStream,
            configuration.deadLetterStream,
            ConsumerLease.key(streams: configuration.streams, consumer: configuration.consumerName),
            ReviewKeys(namespace: configuration.namespace, resultsStream: configuration.resultsStream).stream,
            ArchiveHold.key(for: configuration.resultsStream))
        let bounds = StreamID.bounds(of: batch.items.map(\.sourceId) + batch.deadLetters.map(\.sourceId) + batch.duplicates) ?? ("0-0", "0-0")
        for argument in Self.argumentOrder {
            switch argument {
            case .group: command.append(configuration.consumerGroup)
            case .consumer: command.append(configuration.consumerName)
            case .resultsMaxLength: command.append(configuration.maxStreamLength)
            case .resultTTLSeconds: command.append(configuration.resultTTLSeconds)
            case .workerId: command.append(configuration.workerId)
            case .namespace: command.append(configuration.namespace)
            case .resultCount: command.append(batch.items.count)
            case .deadLetterCount: command.append(batch.deadLetters.count)
            case .deadLetterMaxLength: command.append(configuration.maxStreamLength)
            case .lowestId: command.append(bounds.lowest)
            case .highestId: command.append(bounds.highest)
            case .valuesPerResult: command.append(Self.valuesPerResult)
            case .deadLetterHeaderValues: command.append(Self.deadLetterHeaderValues)
            case .statsTTLSeconds: command.append(configuration.statsTTLSeconds)
            case .leaseToken: command.append(leaseToken)
            case .timeSeriesPrefix: command.append(TimeSeriesKeys(namespace: configuration.namespace, resultsStream: configuration.resultsStream).prefix)
            case .timeSeriesRetentionSeconds: command.append(configuration.timeSeriesRetentionSeconds)
            case .statsBase: command.append(configuration.statisticsKeys.base)
            case .firstRecord:
                appendResults(batch, to: &command)
                appendDeadLetters(batch.deadLetters, to: &command)
                // Then the duplicates' entry ids, to acknowledge without a result (all the arguments that are left).
                for id in batch.duplicates { command.append(id) }
            }
        }
        return command
    }

    /// A fraud scenario as counted in the run statistics: one of ``FraudScenario``, `unknown` when there is none,
    /// `other` for anything else, so a producer's free text cannot add fields without bound.
    static func scenarioLabel(_ scenario: String?) -> String {
        guard let scenario else { return "unknown" }
        return FraudScenario(rawValue: scenario) != nil ? scenario : "other"
    }

    private func appendResults(_ batch: Batch, to command: inout RedisCommand) {
        let queueMs = Self.millisecondsText(batch.timings.queueMicroseconds)
        let featuresMs = Self.millisecondsText(batch.timings.featuresMicroseconds)
        let scoringMs = Self.millisecondsText(batch.timings.scoringMicroseconds)
        for (index, (item, decision)) in zip(batch.items, batch.decisions).enumerated() {
            ResultLayout.append(
                ResultLayout.Values(
                    sourceId: item.sourceId, transaction: item.transaction, decision: decision, latencyMicroseconds: nil,
                    queueMilliseconds: queueMs, featuresMilliseconds: featuresMs, scoringMilliseconds: scoringMs,
                    vector: index < batch.vectors.count ? batch.vectors[index] : nil, evidence: configuration.fullEvidence),
                to: &command)
        }
    }

    private func appendDeadLetters(_ deadLetters: [DeadLetter], to command: inout RedisCommand) {
        for dead in deadLetters {
            for value in Self.deadLetterOrder {
                switch value {
                case .sourceId: command.append(dead.sourceId)
                case .reason: command.append(dead.reason)
                case .runId: command.append(dead.runId)
                case .fieldCount: command.append(dead.fields.count)
                }
            }
            for (name, value) in dead.fields {
                command.append(name)
                command.append(value)
            }
        }
    }

    /// Decodes the reply to a call with `results` result records.
    public static func decode(_ reply: RESPValue, results: Int) throws(RedisError) -> WriteBatchReply {
        guard case .array(let elements) = try reply.get(), elements.count == Reply.firstLatency.rawValue - 1 + results else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply) for \(results) results")
        }
        var integers: [Int64] = []
        integers.reserveCapacity(elements.count)
        for element in elements {
            guard case .integer(let value) = element else {
                throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
            }
            integers.append(value)
        }
        return WriteBatchReply(
            written: Int(integers[Reply.written.rawValue - 1]),
            deadLettered: Int(integers[Reply.deadLettered.rawValue - 1]),
            latenciesMicroseconds: Array(integers[(Reply.firstLatency.rawValue - 1)...]))
    }

    /// `12.345` for 12 345 µs.
    static func millisecondsText(_ microseconds: Int64) -> String {
        "\(microseconds / 1000).\(String(microseconds % 1000).leftPadded(3))"
    }

    /// The score with six decimals, without `String(format:)`.
    /// The score's histogram bucket (0…100) as the run statistics count it: of the score as written (six
    /// decimals), so it agrees with the results stream. Computed here, so the Lua formats no number for it.
    static func scoreBucket(_ score: Double) -> Int {
        let written = (score * 1_000_000).rounded() / 1_000_000
        return min(100, max(0, Int((written * 100).rounded(.down))))
    }

    static func scoreText(_ score: Double) -> String {
        let scaled = Int((score * 1_000_000).rounded())
        return "\(scaled / 1_000_000).\(String(scaled % 1_000_000).leftPadded(6))"
    }
}
