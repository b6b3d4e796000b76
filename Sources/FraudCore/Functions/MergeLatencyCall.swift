import RedisClient

/// `fs_merge_latency`: adds one flush of a worker's latency histograms for a run to what Redis holds.
///
/// Histograms travel sparse (`value:count,…` per stage) and are summed in Redis. A flush token equal to
/// the last one applied marks a retry of that flush, which changes nothing, so a flush whose outcome was
/// lost can be re-sent and is counted exactly once. The reply is 1 when applied, 0 for such a retry.
public struct MergeLatencyCall: Sendable {
    /// The function's name in ``FunctionLibrary/results``.
    public static let function = "fs_merge_latency"
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// `<ns>:stats:run:<run>:worker:<id>:latency`: encoded histogram per stage.
        case workerLatency = 1
        /// `<ns>:stats:run:<run>:worker:<id>`: the worker's counters, last flush token and settings.
        case worker
        /// `<ns>:stats:run:<run>:workers`: the run's worker ids.
        case runWorkers
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The worker id.
        case workerId = 1
        /// The flush token, unique per flush and repeated by its retries.
        case flushToken
        /// The worker's settings, for reports.
        case settings
        /// TTL in s of the three keys (`STATS_TTL`), refreshed by each applied flush.
        case statsTTLSeconds
        /// The first stage name, then its encoded histogram, then further stage / histogram pairs.
        case firstStage
    }

    private static let keyOrder = Key.allCases
    private static let argumentOrder = Argument.allCases

    /// Key names.
    public let keys: RunStatisticsKeys
    /// The flushing worker.
    public let workerId: String
    /// The worker's settings, stored with its statistics.
    public let settings: String
    /// TTL of the statistics keys in s.
    public let statsTTLSeconds: Int

    /// Creates the call for one worker.
    public init(keys: RunStatisticsKeys, workerId: String, settings: String, statsTTLSeconds: Int) {
        self.keys = keys
        self.workerId = workerId
        self.settings = settings
        self.statsTTLSeconds = statsTTLSeconds
    }

    /// `FCALL fs_merge_latency` adding `histograms` (stages without values left out) to `run`.
    public func command(run: String, token: String, histograms: StageHistograms) -> RedisCommand {
        var command = RedisCommand("FCALL", Self.function, Self.keyCount)
        for key in Self.keyOrder {
            switch key {
            case .workerLatency: command.append(keys.workerLatency(run: run, worker: workerId))
            case .worker: command.append(keys.worker(run: run, worker: workerId))
            case .runWorkers: command.append(keys.workers(run: run))
            }
        }
        for argument in Self.argumentOrder {
            switch argument {
            case .workerId: command.append(workerId)
            case .flushToken: command.append(token)
            case .settings: command.append(settings)
            case .statsTTLSeconds: command.append(statsTTLSeconds)
            case .firstStage:
                for stage in StageHistograms.stages where histograms[stage].count > 0 {
                    command.append(stage)
                    command.append(histograms[stage].encoded)
                }
            }
        }
        return command
    }

    /// `true` when the flush was applied, `false` when it repeated the last applied token.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let applied) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return applied == 1
    }
}
