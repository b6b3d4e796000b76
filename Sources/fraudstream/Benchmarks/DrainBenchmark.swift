import FraudCore
import Foundation
import Logging
import RedisClient

/// Drains a pre-loaded backlog with one worker (in this process) and the full feature set.
struct DrainBenchmark {
    var configuration: RedisConfiguration
    var transactions: Int
    var worker: WorkerConfiguration
    var namespace = "bench"

    /// Median time of one `probability` call over real rows.
    static func inferenceMicroseconds(_ record: ModelRecord, rows: [[Double]]) -> Double {
        var passes: [Double] = []
        var sink = 0.0
        for _ in 0..<7 {
            let start = ContinuousClock.now
            for row in rows { sink += record.ensemble.probability(row) }
            passes.append((ContinuousClock.now - start).seconds * 1e6 / Double(rows.count))
        }
        if sink.isNaN { print("") }  // keeps the loop from being optimised away
        return median(passes)
    }

    func run(into table: inout BenchTable) async throws {
        let redis = try await RedisConnection.connect(configuration, name: "bench-drain")
        // Start from an empty namespace, so a server given with --redis-url gives comparable numbers.
        let keyspace = Keyspace(namespace: namespace)
        try await keyspace.delete(try await keyspace.keys(matching: "\(namespace):*", on: redis), on: redis)
        // A small world, prepared exactly as `fraudstream prepare` does.
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = 2_000
        worldConfiguration.days = 7
        worldConfiguration.seed = 11
        let world = WorldGenerator.generate(worldConfiguration)
        let store = FeatureStore(namespace: namespace)
        let shape = try await store.install(
            world, blocklistCapacity: FeatureStore.defaultBlocklistCapacity,
            falsePositiveRate: FeatureStore.defaultBlocklistFalsePositiveRate, on: redis)
        let settings = FeatureSettings(namespace: namespace)
        let rows = try await store.replay(world.history, extractor: FeatureExtractor(settings: settings, blocklistShape: shape), on: redis)
        let record = ModelTraining.train(
            history: world.history, rows: rows, parameters: GBDTParameters(), threshold: 0.7,
            trainingData: "bench users=2000 days=7 seed=11", now: 0)
        _ = try await ModelStore(namespace: namespace).save(record, promote: true, on: redis)
        table.add(
            "model inference per transaction (\(record.parameters.trees) trees)", String(format: "%.2f", Self.inferenceMicroseconds(record, rows: rows)),
            "µs", "median of 7 passes over \(rows.count) real feature rows; target <= 5")

        // The backlog: live traffic from the same world.
        var synthesizer = TrafficSynthesizer(world: world, seed: 5, fraudRatio: 0.02, runId: "bench-drain")
        var worker = self.worker
        worker.namespace = namespace  // derives the stream names under it
        worker.consumerName = "bench"
        worker.resultTTLSeconds = 0
        worker.maxStreamLength = 0
        let loadStart = ContinuousClock.now
        var start = 0
        let base = Int64(Date().timeIntervalSince1970 * 1000)
        while start < transactions {
            let end = min(transactions, start + 5_000)
            var commands: [RedisCommand] = []
            commands.reserveCapacity(end - start)
            for index in start..<end {
                let transaction = synthesizer.next(timestampMilliseconds: base + Int64(index))
                var command = RedisCommand("XADD", worker.transactionStream, "*")
                for (name, value) in transaction.streamFields {
                    command.append(name)
                    command.append(value)
                }
                commands.append(command)
            }
            _ = try await redis.pipeline(commands)
            start = end
        }
        let loadSeconds = (ContinuousClock.now - loadStart).seconds

        var logger = Logger(label: "bench.worker")
        logger.logLevel = .warning
        let assembly = try await Worker(configuration: worker, redis: configuration, logger: logger).assemble(signals: [])
        let clock = ContinuousClock()
        _ = try await redis.send(RedisCommand("CONFIG", "RESETSTAT"))
        let before = try await CPUMeter.read(redis)
        let drainStart = clock.now
        let group = Task { try await assembly.run() }
        while assembly.counters.snapshot.written + assembly.counters.snapshot.deadLettered < transactions {
            try await Task.sleep(for: .milliseconds(10))
        }
        let drainSeconds = (clock.now - drainStart).seconds
        let after = try await CPUMeter.read(redis)
        await assembly.group.triggerGracefulShutdown()
        try await group.value
        let snapshot = assembly.counters.snapshot
        let resultCount = try await redis.send(RedisCommand("XLEN", worker.resultsStream)).int ?? 0
        let pending = try await redis.send(XPendingSummary(stream: worker.transactionStream, group: worker.consumerGroup)).count

        func perTransaction(_ micros: Int) -> String { String(format: "%.1f", Double(micros) / Double(max(1, snapshot.written))) }
        table.add("preload \(transactions) transactions (XADD, pipelined)", grouped(Double(transactions) / loadSeconds), "tx/s", "generator side")
        table.add(
            "drain \(transactions) with 1 worker, full features", grouped(Double(snapshot.written) / drainSeconds), "tx/s",
            "target >= 40,000; batch \(worker.batchSize), fetchers \(worker.fetchers), writers \(worker.writers), in-flight \(worker.maxInFlight)")
        let drained = Double(max(1, snapshot.written))
        table.add(
            "  Redis CPU per tx", String(format: "%.1f", (after.redisMicroseconds - before.redisMicroseconds) / drained), "µs",
            "INFO cpu used_cpu_user+sys during the drain / tx; target <= 20")
        table.add(
            "  worker CPU per tx", String(format: "%.1f", (after.processMicroseconds - before.processMicroseconds) / drained), "µs",
            "getrusage of the worker's process during the drain / tx (the bench only polls meanwhile); target <= 15")
        for cost in CPUMeter.commandCosts(from: before, to: after, transactions: Int(drained)).prefix(16) {
            table.add(
                "    \(cost.command)", String(format: "%.2f", cost.microsecondsPerTransaction), "µs/tx",
                String(format: "INFO commandstats: %.2f calls per tx (FCALL includes the commands it runs)", cost.callsPerTransaction))
        }
        table.add("  results written / pending after drain", "\(resultCount) / \(pending)", "entries", "exactly one result each, nothing pending")
        table.add(
            "  Redis round trips per batch", String(format: "%.2f", Double(snapshot.roundTrips) / Double(max(1, snapshot.batches))), "trips",
            "read + features per fetcher + write/ack; avg batch \(snapshot.written / max(1, snapshot.batches))")
        table.add("  features (pipelined FCALLs) per tx", perTransaction(snapshot.featureMicroseconds), "µs", "wall time of the stage / tx")
        table.add("  scoring (trees + rules) per tx", perTransaction(snapshot.scoringMicroseconds), "µs", "")
        table.add("  write + ack per tx", perTransaction(snapshot.writeMicroseconds), "µs", "")
        table.add("  queue wait per tx (summed per batch)", perTransaction(snapshot.queueMicroseconds), "µs", "time between stages")
    }
}
