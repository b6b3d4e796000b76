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

    static func with<T>(redisArguments: [String] = [], _ body: (WorkerHarness) async throws -> T) async throws -> T {
        try await withRedisServer(extraArguments: redisArguments) { server in
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
        // Generous: a machine whose cores another job holds may stall a drain for seconds, and a test that stops a
        // worker must not depend on the drain beating a deadline (the shutdown tests set their own).
        configuration.shutdownTimeoutMilliseconds = 60_000
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

    /// Entries the group has delivered and not acknowledged. Fails when the group does not exist:
    /// a test that expects a worker to have created it must not read a missing group as "nothing pending".
    func pendingCount(group: String = "inference_workers", stream: String = "fraud:transactions") async throws(RedisError) -> Int {
        let reply = try await redis.send(RedisCommand("XPENDING", stream, group))
        return reply.array?.first?.int ?? 0
    }

    /// ``pendingCount(group:stream:)`` for samples taken while a worker may not have created its group yet
    /// (0 then).
    func pendingCountOrZeroBeforeGroupExists(group: String = "inference_workers", stream: String = "fraud:transactions") async throws(RedisError) -> Int {
        do {
            return try await pendingCount(group: group, stream: stream)
        } catch {
            if error.serverErrorPrefix == "NOGROUP" { return 0 }
            throw error
        }
    }

    /// Waits until a stream holds at least `count` entries; throws at the deadline.
    func waitForLength(_ key: String, atLeast count: Int, timeout: Duration = .seconds(90)) async throws {
        try await waitUntil("\(count) entries in \(key)", timeout: timeout) { try await length(key) >= count }
    }

    /// The newest entry of a stream.
    func newestEntry(_ key: String) async throws -> [String: String]? {
        let reply = try await redis.send(RedisCommand("XREVRANGE", key, "+", "-", "COUNT", 1))
        return reply.array?.first?.array?[1].stringPairs
    }

    /// Entries of a stream as dictionaries.
    func entries(_ key: String) async throws -> [[String: String]] {
        let reply = try await redis.send(RedisCommand("XRANGE", key, "-", "+"))
        return (reply.array ?? []).compactMap { $0.array?[1].stringPairs }
    }

    /// A logger that lets warnings through, to see retries in the test output.
    static var quietLogger: Logger {
        var logger = Logger(label: "test.worker")
        logger.logLevel = .warning
        return logger
    }

    /// Starts a worker, runs `body` while it runs, then shuts it down gracefully and waits until it
    /// has drained, also when `body` throws.
    func withWorker<T>(
        _ configuration: WorkerConfiguration, stageDelay: Duration? = nil, logger: Logger = quietLogger,
        metricsEndpoint: (@Sendable (FraudMetrics) -> any Service)? = nil, _ body: (Worker.Assembly) async throws -> T
    ) async throws -> T {
        let worker = Worker(configuration: configuration, redis: server.configuration, logger: logger)
        let assembly = try await worker.assemble(signals: [], stageDelay: stageDelay, metricsEndpoint: metricsEndpoint)
        let groupTask = Task { try await assembly.run() }
        let result: T
        do {
            result = try await body(assembly)
        } catch {
            await assembly.group.triggerGracefulShutdown()
            _ = await groupTask.result
            throw error
        }
        await assembly.group.triggerGracefulShutdown()
        try await groupTask.value
        return result
    }

    /// Runs a worker until `done` holds, then shuts it down gracefully. Throws ``WaitTimeout`` when
    /// `done` does not hold within `timeout` (after `running` returned).
    func runWorker(
        _ configuration: WorkerConfiguration, stageDelay: Duration? = nil, timeout: Duration = .seconds(120),
        fileID: String = #fileID, line: Int = #line,
        while running: (@Sendable (Worker.Assembly) async throws -> Void)? = nil,
        until done: @escaping @Sendable () async throws -> Bool
    ) async throws -> Worker.Assembly {
        try await withWorker(configuration, stageDelay: stageDelay) { assembly in
            if let running { try await running(assembly) }
            try await waitUntil("the stop condition of the worker run at \(fileID):\(line)", timeout: timeout, done)
            return assembly
        }
    }
}
