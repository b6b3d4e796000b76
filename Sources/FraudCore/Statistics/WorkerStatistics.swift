import Foundation
import Logging
import RedisClient
import ServiceLifecycle

/// Per-run latency histograms of this worker, merged into Redis every second and at shutdown.
///
/// Counters (processed, fraud, confusion matrix, dead letters) are incremented inside the atomic
/// write call, so they are exact. Latency is kept here only as the *change since the last flush*;
/// each flush adds it to `<ns>:stats:run:<run>:worker:<id>:latency` (`fs_merge_latency`), so memory
/// stays bounded by the runs seen in the last second, and a restarted worker with the same name adds
/// to its earlier histograms instead of overwriting them. Readers merge the workers' histograms.
public actor WorkerStatistics {
    private var pending: [String: StageHistograms] = [:]
    /// A flush whose outcome is unknown (lost connection); re-sent with the same token, which the
    /// function recognises, so it is counted exactly once.
    private var unconfirmed: (token: String, runs: [String: StageHistograms])?
    private var flushes = 0
    private let call: MergeLatencyCall
    private let instance = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    /// Creates the statistics of one worker; every flush refreshes the TTL of the run's keys it writes.
    public init(namespace: String, workerId: String, settingsDescription: String, statsTTLSeconds: Int, resultsStream: String? = nil) {
        call = MergeLatencyCall(
            keys: RunStatisticsKeys(namespace: namespace, tag: resultsStream.flatMap(RunStatisticsKeys.tag(forResultsStream:))),
            workerId: workerId, settings: settingsDescription,
            statsTTLSeconds: statsTTLSeconds)
    }

    /// Records a written batch: end-to-end latencies per result (µs; -1 = skipped) and stage times.
    func record(_ batch: Batch, endToEndMicroseconds: [Int64]) {
        var perRun: [String: Int] = [:]
        for (item, latency) in zip(batch.items, endToEndMicroseconds) where latency >= 0 {
            let run = item.transaction.runId ?? "none"
            perRun[run, default: 0] += 1
            pending[run, default: StageHistograms()].record("end_to_end", microseconds: latency)
        }
        for (run, count) in perRun {
            pending[run, default: StageHistograms()].record("queue", microseconds: batch.timings.queueMicroseconds, count: count)
            pending[run, default: StageHistograms()].record("features", microseconds: batch.timings.featuresMicroseconds, count: count)
            pending[run, default: StageHistograms()].record("scoring", microseconds: batch.timings.scoringMicroseconds, count: count)
            pending[run, default: StageHistograms()].record("write", microseconds: batch.timings.writeMicroseconds, count: count)
        }
    }

    /// Records requests of the scoring API: each one's run and stage times (`end_to_end`, `features`, …) in µs.
    public func record(requests: [(run: String?, stages: [(stage: String, microseconds: Int64)])]) {
        for request in requests {
            let run = request.run ?? "none"
            for (stage, microseconds) in request.stages {
                pending[run, default: StageHistograms()].record(stage, microseconds: microseconds)
            }
        }
    }

    /// Adds what was recorded since the last flush to Redis (one pipelined round trip).
    public func flush(on connection: RedisConnection) async throws(RedisError) {
        if let retry = unconfirmed {
            try await send(retry.runs, token: retry.token, on: connection)
            unconfirmed = nil
        }
        guard !pending.isEmpty else { return }
        // Take the deltas out before awaiting: batches recorded meanwhile go to the next flush.
        let runs = pending
        pending = [:]
        flushes += 1
        let token = "\(instance)-\(flushes)"
        unconfirmed = (token, runs)
        try await send(runs, token: token, on: connection)
        unconfirmed = nil
    }

    private func send(_ runs: [String: StageHistograms], token: String, on connection: RedisConnection) async throws(RedisError) {
        let commands = runs.map { run, histograms in call.command(run: run, token: token, histograms: histograms) }
        for reply in try await connection.pipeline(commands) { _ = try MergeLatencyCall.decode(reply) }
    }
}
