import Foundation
import Logging
import RedisClient
import RedisHarness
import ServiceLifecycle
import Testing

@testable import FraudCore

/// A real redis-server prepared for a worker: functions loaded, a few profiles, a small model promoted.
struct WorkerHarness {
    let server: RedisServer
    let redis: RedisConnection
    let namespace = "fraud"

    static func with<T>(_ body: (WorkerHarness) async throws -> T) async throws -> T {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let harness = WorkerHarness(server: server, redis: redis)
            try await harness.setUp()
            return try await body(harness)
        }
    }

    func setUp() async throws {
        let store = FeatureStore(namespace: namespace)
        try await store.loadLibrary(on: redis)
        try await redis.loadFunctionLibrary(FunctionLibrary.results.source)
        let profiles = (0..<20).map { index in
            UserProfile(
                userId: "u\(index)", homeLatitude: 40, homeLongitude: -74, preferredCard: "VISA", segment: "standard",
                riskScore: 0.1, accountCreatedMilliseconds: 1_700_000_000_000, usualCategories: ["grocery"], typicalSpend: 40,
                devices: ["d\(index)"], ips: [])
        }
        try await store.writeProfiles(profiles, on: redis)
        try await store.writeBlocklist(["6.6.6.6"], shape: BloomFilterShape(capacity: 1_000, falsePositiveRate: 0.001), on: redis)
        _ = try await ModelStore(namespace: namespace).save(Self.tinyModel(seed: 1), promote: true, on: redis)
    }

    /// A small model trained on random rows where a large amount means fraud.
    static func tinyModel(seed: UInt64) -> ModelRecord {
        var random = TestRandom(seed: seed)
        var features: [Double] = []
        var labels: [UInt8] = []
        for _ in 0..<400 {
            var row = (0..<FeatureSchema.count).map { _ in Double(random.next() % 1000) / 10 }
            let fraud = random.next() % 10 == 0
            row[Feature.amount] = fraud ? 900 + row[Feature.amount] : row[Feature.amount]
            features.append(contentsOf: row)
            labels.append(fraud ? 1 : 0)
        }
        var parameters = GBDTParameters()
        parameters.trees = 5
        parameters.minSamplesLeaf = 5
        parameters.seed = seed
        let set = TrainingSet(featureNames: FeatureSchema.names, features: features, labels: labels)
        let ensemble = GradientBoostedTreesTrainer.train(set, parameters: parameters)
        let metrics = ModelMetrics(
            trainingRows: 400, heldOutRows: 0, heldOutPositives: 0, rocAUC: 0, prAUC: 0, precision: 0, recall: 0,
            baselineROCAUC: 0, baselinePRAUC: 0, recallByScenario: [:], rowsByScenario: [:], trainingSeconds: 0)
        return ModelRecord(
            createdMilliseconds: 0, featureNames: FeatureSchema.names, parameters: parameters, metrics: metrics, threshold: 0.7,
            ensemble: ensemble, baseline: nil, trainingData: "test")
    }

    func configuration(consumer: String = "w1") -> WorkerConfiguration {
        var configuration = WorkerConfiguration()
        configuration.consumerName = consumer
        configuration.blockMilliseconds = 100
        configuration.statisticsFlushMilliseconds = 100
        configuration.modelCheckMilliseconds = 100
        return configuration
    }

    /// Fields of a valid transaction.
    static func fields(_ index: Int, run: String = "run-test", amount: Double? = nil) -> [(String, String)] {
        [
            ("transaction_id", "tx-\(index)"), ("user_id", "u\(index % 25)"), ("amount", String(amount ?? Double(10 + index % 90))),
            ("merchant_id", "m\(index % 13)"), ("timestamp", String(1_790_812_800_000 + Int64(index) * 1000)),
            ("lat", "40.5"), ("lon", "-74.1"), ("device_id", "d\(index % 7)"), ("ip", index % 50 == 0 ? "6.6.6.6" : "10.0.0.1"),
            ("run_id", run), ("is_fraud", index % 10 == 0 ? "1" : "0"), ("card_provider", "VISA"), ("merchant_category", "retail"),
        ]
    }

    /// Publishes entries with plain XADD (as any producer would), pipelined; returns their ids.
    @discardableResult
    func publish(_ entries: [[(String, String)]], stream: String = "fraud:transactions") async throws -> [String] {
        var ids: [String] = []
        var start = 0
        while start < entries.count {
            let chunk = entries[start..<min(entries.count, start + 2_000)]
            let commands = chunk.map { fields in
                var command = RedisCommand("XADD", stream, "*")
                for (name, value) in fields {
                    command.append(name)
                    command.append(value)
                }
                return command
            }
            ids += try await redis.pipeline(commands).compactMap(\.string)
            start += chunk.count
        }
        return ids
    }

    func length(_ key: String) async throws -> Int {
        try await redis.send(RedisCommand("XLEN", key)).int ?? 0
    }

    func pendingCount(group: String = "inference_workers", stream: String = "fraud:transactions") async throws -> Int {
        do {
            let reply = try await redis.send(RedisCommand("XPENDING", stream, group))
            return reply.array?.first?.int ?? 0
        } catch {
            if error.serverErrorPrefix == "NOGROUP" { return 0 }  // the worker has not created the group yet
            throw error
        }
    }

    /// Entries of a stream as dictionaries.
    func entries(_ key: String) async throws -> [[String: String]] {
        let reply = try await redis.send(RedisCommand("XRANGE", key, "-", "+"))
        return (reply.array ?? []).compactMap { $0.array?[1].stringPairs }
    }

    /// Runs a worker until `done` holds (or the timeout), then shuts it down gracefully.
    func runWorker(
        _ configuration: WorkerConfiguration, stageDelay: Duration? = nil, timeout: Duration = .seconds(30),
        while running: (@Sendable (Worker.Assembly) async throws -> Void)? = nil,
        until done: @escaping @Sendable () async throws -> Bool
    ) async throws -> Worker.Assembly {
        var logger = Logger(label: "test.worker")
        logger.logLevel = .warning
        let worker = Worker(configuration: configuration, redis: server.configuration, logger: logger)
        let assembly = try await worker.assemble(signals: [], stageDelay: stageDelay)
        let groupTask = Task { try await assembly.run() }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        if let running { try await running(assembly) }
        while clock.now < deadline {
            if try await done() { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        await assembly.group.triggerGracefulShutdown()
        try await groupTask.value
        return assembly
    }
}
