import Logging
import RedisClient
import ServiceLifecycle

/// Per-run latency histograms of this worker, flushed to Redis every second and at shutdown.
///
/// Counters (processed, fraud, confusion matrix, dead letters) are incremented inside the atomic
/// write call, so they are exact; histograms are this worker's cumulative view per run, stored at
/// `<ns>:stats:run:<run>:worker:<id>:latency` (one field per stage) and merged across workers by readers.
public actor WorkerStatistics {
    private var runs: [String: StageHistograms] = [:]
    private var dirty: Set<String> = []
    private var announced: Set<String> = []
    private let namespace: String
    private let workerId: String
    private let settingsDescription: String

    /// Creates the statistics of one worker.
    public init(namespace: String, workerId: String, settingsDescription: String) {
        self.namespace = namespace
        self.workerId = workerId
        self.settingsDescription = settingsDescription
    }

    /// Records a written batch: end-to-end latencies per result (µs; -1 = skipped) and stage times.
    func record(_ batch: Batch, endToEndMicroseconds: [Int64]) {
        var perRun: [String: Int] = [:]
        for (item, latency) in zip(batch.items, endToEndMicroseconds) where latency >= 0 {
            let run = item.transaction.runId ?? "none"
            perRun[run, default: 0] += 1
            runs[run, default: StageHistograms()].record("end_to_end", microseconds: latency)
        }
        for (run, count) in perRun {
            runs[run, default: StageHistograms()].record("queue", microseconds: batch.timings.queueMicroseconds, count: count)
            runs[run, default: StageHistograms()].record("features", microseconds: batch.timings.featuresMicroseconds, count: count)
            runs[run, default: StageHistograms()].record("scoring", microseconds: batch.timings.scoringMicroseconds, count: count)
            runs[run, default: StageHistograms()].record("write", microseconds: batch.timings.writeMicroseconds, count: count)
            dirty.insert(run)
        }
    }

    /// This worker's histograms of a run (tests, profile).
    public func histograms(run: String) -> StageHistograms { runs[run] ?? StageHistograms() }

    /// Writes changed runs' histograms (and, once per run, this worker's settings).
    public func flush(on connection: RedisConnection) async throws(RedisError) {
        guard !dirty.isEmpty else { return }
        var commands: [RedisCommand] = []
        for run in dirty.sorted() {
            guard let histograms = runs[run] else { continue }
            let key = RunStatisticsKeys(namespace: namespace).workerLatency(run: run, worker: workerId)
            var command = RedisCommand("HSET", key)
            for stage in StageHistograms.stages {
                command.append(stage)
                command.append(histograms[stage].encoded)
            }
            commands.append(command)
            if !announced.contains(run) {
                let workerKey = RunStatisticsKeys(namespace: namespace).worker(run: run, worker: workerId)
                commands.append(RedisCommand("HSET", workerKey, "settings", settingsDescription))
                commands.append(RedisCommand("SADD", RunStatisticsKeys(namespace: namespace).workers(run: run), workerId))
            }
        }
        for reply in try await connection.pipeline(commands) { _ = try reply.get() }
        for run in dirty { announced.insert(run) }
        dirty.removeAll()
    }
}

/// Flushes ``WorkerStatistics`` periodically; the last service to stop, so its final flush
/// happens after the writer has drained.
public struct StatisticsFlusher: Service {
    let statistics: WorkerStatistics
    let connection: RedisConnection
    let intervalMilliseconds: Int
    let logger: Logger

    /// Flushes every interval until graceful shutdown, then once more.
    public func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            await flushLogging()
        }
        await flushLogging()
    }

    private func flushLogging() async {
        do {
            try await statistics.flush(on: connection)
        } catch {
            logger.warning("statistics flush failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
