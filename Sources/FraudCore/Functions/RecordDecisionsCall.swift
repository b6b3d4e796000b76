import RedisClient

/// `fs_record_decisions`: appends decisions the scoring API made to the results stream (marked
/// `source=api`) and counts them in the run statistics, like the worker's results.
///
/// The API makes each decision once (a per-transaction decision key set with `SET NX` before recording), so
/// this call only writes; a per-instance sequence number makes a retried call write nothing twice. The layouts are defined here once: ``Argument`` and ``RecordValue`` give the order
/// the command is built in; the reply is the number of results written.
public struct RecordDecisionsCall: Sendable {
    /// The function's name in ``FunctionLibrary/results``.
    public static let function = "fs_record_decisions"
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count
    /// Values per record.
    public static let valuesPerRecord = ResultLayout.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The results stream.
        case resultsStream = 1
        /// `{<results stream>}:recorded:<instance>`: the last sequence number this server instance applied (kept an
        /// hour after its last call), so a retry of a call whose reply was lost writes nothing twice; the hash tag puts
        /// it in the stream's slot. One key per server instance, however many calls it makes.
        case instanceMarker
        /// The review queue (``ReviewKeys/stream``): `review` decisions are appended there too.
        case reviewStream
        /// The archive's hold on the results stream (``ArchiveHold``), read to trim it.
        case archiveHold
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The server's id, written as `worker_id` and counted in statistics.
        case serverId = 1
        /// The key namespace (statistics).
        case namespace
        /// Approximate `MAXLEN` of the results stream (0 = none).
        case resultsMaxLength
        /// TTL in s of every statistics key the call writes.
        case statsTTLSeconds
        /// Number of records R.
        case recordCount
        /// ``RecordDecisionsCall/valuesPerRecord``.
        case valuesPerRecord
        /// This call's sequence number, increasing per instance; a retry repeats it.
        case sequence
        /// ``TimeSeriesKeys/prefix``: where the fraud counts over time go.
        case timeSeriesPrefix
        /// How long they are kept, s; 0 writes none.
        case timeSeriesRetentionSeconds
        /// ``RunStatisticsKeys/base`` of the run statistics the call adds to.
        case statsBase
        /// The first of R records.
        case firstRecord
    }

    /// One record's values: the layout both recording calls share.
    public typealias RecordValue = ResultLayout

    /// One decision to record.
    public struct Record: Sendable, Equatable, Codable {
        /// The transaction.
        public var transaction: Transaction
        /// The decision given.
        public var decision: ScoredDecision
        /// Receipt to decision in µs.
        public var latencyMicroseconds: Int64
        /// Time in the feature round trip, µs.
        public var featuresMicroseconds: Int64
        /// Time scoring, µs.
        public var scoringMicroseconds: Int64
        /// Whether the answer was degraded.
        public var degraded: Bool
        /// The feature vector (recorded with a review decision, for the review queue and `prepare --retrain`).
        public var vector: [Double]?
        /// Who claimed the decision key (``DecisionClaim``): the recorder stores the decision over that claim.
        public var claimant: String?

        /// Creates a record.
        public init(
            transaction: Transaction, decision: ScoredDecision, latencyMicroseconds: Int64, featuresMicroseconds: Int64,
            scoringMicroseconds: Int64, degraded: Bool, vector: [Double]? = nil, claimant: String? = nil
        ) {
            self.vector = vector
            self.claimant = claimant
            self.transaction = transaction
            self.decision = decision
            self.latencyMicroseconds = latencyMicroseconds
            self.featuresMicroseconds = featuresMicroseconds
            self.scoringMicroseconds = scoringMicroseconds
            self.degraded = degraded
        }
    }

    private static let argumentOrder = Argument.allCases

    /// The results stream.
    public let resultsStream: String
    /// The server id.
    public let serverId: String
    /// The namespace.
    public let namespace: String
    /// Approximate cap of the results stream (0 = none).
    public let maxStreamLength: Int
    /// TTL of the statistics keys in s.
    public let statsTTLSeconds: Int
    /// How long the fraud counts over time are kept, s; 0 writes none.
    public let timeSeriesRetentionSeconds: Int

    /// Creates the call.
    public init(
        resultsStream: String, serverId: String, namespace: String, maxStreamLength: Int, statsTTLSeconds: Int,
        timeSeriesRetentionSeconds: Int = TimeSeriesKeys.defaultRetentionSeconds
    ) {
        self.timeSeriesRetentionSeconds = timeSeriesRetentionSeconds
        self.resultsStream = resultsStream
        self.serverId = serverId
        self.namespace = namespace
        self.maxStreamLength = maxStreamLength
        self.statsTTLSeconds = statsTTLSeconds
    }

    /// The input's partitions (``StreamNames``): decisions of a user go to its partition's results stream.
    public var partitions: StreamNames?
    /// Every entry carries the full evidence (``ResultLayout/evidence``).
    public var evidence = false

    /// The partition `user`'s decisions are recorded in (0 when not partitioned).
    public func partition(forUser user: String) -> Int {
        guard let partitions, partitions.isPartitioned else { return 0 }
        return StreamNames.partitionIndex(forUser: user, count: partitions.partitionCount)
    }

    /// The same call for partition `index`'s results stream.
    public func forPartition(_ index: Int) -> RecordDecisionsCall {
        guard let partitions, partitions.isPartitioned else { return self }
        var call = RecordDecisionsCall(
            resultsStream: partitions.partition(index).results, serverId: serverId, namespace: namespace, maxStreamLength: maxStreamLength,
            statsTTLSeconds: statsTTLSeconds, timeSeriesRetentionSeconds: timeSeriesRetentionSeconds)
        call.partitions = partitions
        call.evidence = evidence
        return call
    }

    /// The marker key of a server instance.
    public func instanceMarker(_ instance: String) -> String { "\(HashSlot.colocatedTag(of: resultsStream)):recorded:\(instance)" }

    /// `FCALL fs_record_decisions` for `records`, as call `sequence` of server `instance` (a retry repeats both).
    public func command(_ records: [Record], instance: String, sequence: Int) -> RedisCommand {
        var command = RedisCommand(
            "FCALL", Self.function, Self.keyCount, resultsStream, instanceMarker(instance),
            ReviewKeys(namespace: namespace, resultsStream: resultsStream).stream, ArchiveHold.key(for: resultsStream))
        for argument in Self.argumentOrder {
            switch argument {
            case .serverId: command.append(serverId)
            case .namespace: command.append(namespace)
            case .resultsMaxLength: command.append(maxStreamLength)
            case .statsTTLSeconds: command.append(statsTTLSeconds)
            case .recordCount: command.append(records.count)
            case .valuesPerRecord: command.append(Self.valuesPerRecord)
            case .sequence: command.append(sequence)
            case .timeSeriesPrefix: command.append(TimeSeriesKeys(namespace: namespace, resultsStream: resultsStream).prefix)
            case .timeSeriesRetentionSeconds: command.append(timeSeriesRetentionSeconds)
            case .statsBase: command.append(RunStatisticsKeys(namespace: namespace, tag: RunStatisticsKeys.tag(forResultsStream: resultsStream)).base)
            case .firstRecord:
                for record in records { append(record, to: &command) }
            }
        }
        return command
    }

    private func append(_ record: Record, to command: inout RedisCommand) {
        ResultLayout.append(
            ResultLayout.Values(
                transaction: record.transaction, decision: record.decision, latencyMicroseconds: record.latencyMicroseconds,
                queueMilliseconds: "0.000", featuresMilliseconds: WriteBatchCall.millisecondsText(record.featuresMicroseconds),
                scoringMilliseconds: WriteBatchCall.millisecondsText(record.scoringMicroseconds), degraded: record.degraded,
                vector: record.vector, evidence: evidence),
            to: &command)
    }

    /// The number of results written.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Int {
        guard case .integer(let count) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return Int(count)
    }
}
