import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Model hot swap against a real redis-server")
struct ModelHotSwapTests {
    /// Publishes one entry at a time (from index `next`) until the newest result in `stream` was
    /// scored by `version`: the observable moment a worker serves a newly promoted model. Each input
    /// entry must give one result in `stream`.
    static func trickle(
        _ harness: WorkerHarness, from next: inout Int, until version: Int, stream: String = "fraud:results"
    ) async throws {
        try await waitUntil("a result in \(stream) scored by model version \(version)") {
            try await harness.publish([WorkerHarness.fields(next)])
            next += 1
            try await harness.waitForLength(stream, atLeast: next)
            return try await harness.newestEntry(stream)?["model_version"] == String(version)
        }
    }

    @Test func promotedModelIsServedWithoutRestart() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0) })
            let assembly = try await harness.withWorker(harness.configuration()) { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 50)
                let store = ModelStore(namespace: "fraud")
                _ = try await store.save(WorkerHarness.tinyModel(seed: 2), promote: true, on: harness.redis)
                var next = 50
                try await Self.trickle(harness, from: &next, until: 2)
                try await harness.publish((next..<next + 50).map { WorkerHarness.fields($0) })
                try await harness.waitForLength("fraud:results", atLeast: next + 50)
                return assembly
            }
            let versions = try await harness.entries("fraud:results").map { $0["model_version"] ?? "" }
            #expect(versions.prefix(50).allSatisfy { $0 == "1" })
            #expect(versions.suffix(50).allSatisfy { $0 == "2" })
            // One switch, between batches, and never back.
            let switched = try #require(versions.firstIndex(of: "2"))
            #expect(versions[..<switched].allSatisfy { $0 == "1" })
            #expect(versions[switched...].allSatisfy { $0 == "2" })
            #expect(assembly.serving.modelVersion == 2)
        }
    }

    @Test func pinnedModelVersionIsServedAndPromotionsAreIgnored() async throws {
        try await WorkerHarness.with { harness in
            let store = ModelStore(namespace: "fraud")
            let pinnedVersion = try await store.save(WorkerHarness.tinyModel(seed: 2), promote: false, on: harness.redis)
            #expect(pinnedVersion == 2)  // version 1 is the promoted one
            // A pinned worker and, as the control, a worker that follows promotions, each with its own
            // group and results stream over the same input.
            var pinned = harness.configuration(consumer: "pinned")
            pinned.consumerGroup = "pinned"
            pinned.resultsStream = "fraud:results:pinned"
            pinned.deadLetterStream = "fraud:dead_letters:pinned"
            pinned.pinnedModelVersion = pinnedVersion
            var next = 0
            let pinnedAssembly = try await harness.withWorker(pinned) { pinnedAssembly in
                try await harness.withWorker(harness.configuration(consumer: "following")) { _ in
                    try await harness.publish((0..<20).map { WorkerHarness.fields($0) })
                    next = 20
                    try await harness.waitForLength("fraud:results", atLeast: 20)
                    _ = try await store.save(WorkerHarness.tinyModel(seed: 3), promote: true, on: harness.redis)
                    // Once the control serves version 3, the promotion is visible to every worker.
                    try await Self.trickle(harness, from: &next, until: 3)
                    try await harness.publish((next..<next + 20).map { WorkerHarness.fields($0) })
                    next += 20
                    try await harness.waitForLength("fraud:results", atLeast: next)
                    try await harness.waitForLength("fraud:results:pinned", atLeast: next)
                }
                return pinnedAssembly
            }
            let pinnedVersions = try await harness.entries("fraud:results:pinned").map { $0["model_version"] ?? "" }
            #expect(pinnedVersions.count == next)
            #expect(pinnedVersions.allSatisfy { $0 == "2" })
            #expect(pinnedAssembly.serving.modelVersion == 2)
            let followingVersions = try await harness.entries("fraud:results").map { $0["model_version"] ?? "" }
            #expect(followingVersions.prefix(20).allSatisfy { $0 == "1" })
            #expect(followingVersions.suffix(20).allSatisfy { $0 == "3" })
        }
    }

    @Test func aModelReadingASubsetOfTheFeaturesInItsOwnOrderIsServed() async throws {
        // Trees over three served features, named in another order than the served vector's: amount decides.
        let names = ["tx_count_1h", "amount", "hour_of_day"]
        var random = TestRandom(seed: 9)
        var features: [Double] = []
        var labels: [UInt8] = []
        for _ in 0..<400 {
            let fraud = random.next() % 5 == 0
            features += [Double(random.next() % 5), fraud ? 500 + Double(random.next() % 100) : Double(random.next() % 100), Double(random.next() % 24)]
            labels.append(fraud ? 1 : 0)
        }
        var parameters = GBDTParameters()
        parameters.trees = 10
        parameters.minSamplesLeaf = 5
        let ensemble = GradientBoostedTreesTrainer.train(TrainingSet(featureNames: names, features: features, labels: labels), parameters: parameters)
        #expect(ensemble.servedIndex == names.compactMap(FeatureSchema.index(of:)) && ensemble.servedIndex?.count == 3)
        let metrics = ModelMetrics(
            trainingRows: 400, heldOutRows: 0, heldOutPositives: 0, rocAUC: 0, prAUC: 0, precision: 0, recall: 0, baselineROCAUC: 0,
            baselinePRAUC: 0, recallByScenario: [:], rowsByScenario: [:], trainingSeconds: 0)
        let record = ModelRecord(
            createdMilliseconds: 0, featureNames: names, parameters: parameters, metrics: metrics, threshold: 0.7, ensemble: ensemble, baseline: nil,
            trainingData: "subset")
        try await WorkerHarness.with { harness in
            let version = try await ModelStore(namespace: "fraud").save(record, promote: true, on: harness.redis)
            let stored = try await ModelStore(namespace: "fraud").load(version, on: harness.redis)
            #expect(stored.ensemble.servedIndex == ensemble.servedIndex)
            try await harness.publish([WorkerHarness.fields(1, amount: 20), WorkerHarness.fields(2, amount: 800)])
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 2 }
            let results = try await harness.entries("fraud:results")
            #expect(results.allSatisfy { $0["model_version"] == String(version) })
            let small = try #require(results.first { $0["transaction_id"] == "tx-1" }?["score"].flatMap(Double.init))
            let large = try #require(results.first { $0["transaction_id"] == "tx-2" }?["score"].flatMap(Double.init))
            #expect(large > 0.5 && small < 0.5, "the subset model should score the 800 amount as fraud: \(small), \(large)")
        }
        // The same vector through the record and through the trees on the gathered row agree.
        var vector = [Double](repeating: 0, count: FeatureSchema.count)
        vector[Feature.amount] = 800
        vector[try #require(FeatureSchema.index(of: "hour_of_day"))] = 3
        #expect(record.probability(vector) == ensemble.probability([0, 800, 3]))
        let split = record.contributions(vector)
        #expect(abs(split.base + split.features.reduce(0, +) - ensemble.margin([0, 800, 3])) < 1e-9)
        #expect(split.features[try #require(FeatureSchema.index(of: "device_events_window"))] == 0)
    }

    /// Ways a promoted model can be unusable for this build.
    enum InvalidModel: String, CaseIterable, Sendable {
        case differentFeatures, corruptJSON
    }

    @Test(arguments: InvalidModel.allCases)
    func invalidPromotedModelIsRejectedAndTheCurrentOneKept(_ invalid: InvalidModel) async throws {
        try await WorkerHarness.with { harness in
            let store = ModelStore(namespace: "fraud")
            let badVersion: Int
            switch invalid {
            case .differentFeatures:
                var mismatched = WorkerHarness.tinyModel(seed: 2)
                mismatched.featureNames = Array(FeatureSchema.names.dropLast()) + ["something_else"]
                badVersion = try await store.save(mismatched, promote: false, on: harness.redis)
            case .corruptJSON:
                badVersion = try #require(try await harness.redis.send(RedisCommand("INCR", store.counterKey)).int)
                try await harness.redis.send(RedisCommand("SET", store.key(badVersion), "{\"trees\": ["))
            }
            let log = LogCapture()
            var next = 0
            let assembly = try await harness.withWorker(harness.configuration(), logger: log.logger) { assembly in
                try await harness.publish((0..<20).map { WorkerHarness.fields($0) })
                next = 20
                try await harness.waitForLength("fraud:results", atLeast: 20)
                // Promoted behind the worker's back (`models promote` refuses such a model), as an
                // older or newer build might have done.
                try await harness.redis.send(RedisCommand("SET", store.latestKey, badVersion))
                try await waitUntil("the worker to reject model version \(badVersion)") {
                    log.logged.contains { $0.level >= .error && $0.metadata["version"] == String(badVersion) }
                }
                try await harness.publish((20..<40).map { WorkerHarness.fields($0) })
                next = 40
                try await harness.waitForLength("fraud:results", atLeast: 40)
                #expect(assembly.serving.modelVersion == 1)
                // The watcher keeps following: a valid promotion afterwards is served.
                _ = try await store.save(WorkerHarness.tinyModel(seed: 3), promote: true, on: harness.redis)
                try await Self.trickle(harness, from: &next, until: 3)
                return assembly
            }
            let versions = try await harness.entries("fraud:results").map { $0["model_version"] ?? "" }
            #expect(versions.prefix(40).allSatisfy { $0 == "1" })
            #expect(!versions.contains(String(badVersion)))
            #expect(versions.last == "3")
            #expect(assembly.serving.modelVersion == 3)
            #expect(!log.logged.contains { $0.level >= .error && $0.metadata["version"] != String(badVersion) })
        }
    }

    @Test func idleWorkerLogsAPromotionOnce() async throws {
        try await WorkerHarness.with { harness in
            let log = LogCapture()
            var configuration = harness.configuration()  // model checks every 100 ms
            configuration.modelCheckMilliseconds = 50
            try await harness.withWorker(configuration, logger: log.logger) { assembly in
                _ = try await ModelStore(namespace: "fraud").save(WorkerHarness.tinyModel(seed: 2), promote: true, on: harness.redis)
                try await waitUntil("the worker to queue version 2") { assembly.serving.nextModelVersion == 2 }
                try await Task.sleep(for: .milliseconds(500))  // about ten more checks while no transaction arrives
                #expect(assembly.serving.modelVersion == 1)  // nothing scored yet, so not switched yet
            }
            let promotions = log.logged.filter { $0.message.hasPrefix("model version promoted") }
            #expect(promotions.count == 1)
        }
    }
}
