import FraudCore
import Foundation
import RedisClient

extension DrainBenchmark {
    /// The built-in features' count definitions (version 0) computed three ways over one world's history, in
    /// interleaved rounds: by the fused kernels alone (the code before they were definitions), with the definitions
    /// added to a feature set and planned onto the kernels (what the product does), and with them folded by
    /// `fs_entity_fold` as well (what moving them off the kernels would cost). Featurizing only: one pipelined round
    /// trip per 100 transactions, as `prepare` replays.
    func compareBuiltInEngines(into table: inout BenchTable, repeats: Int) async throws {
        let redis = try await RedisConnection.connect(configuration, name: "bench-engines")
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = min(users, 2_000)
        worldConfiguration.days = 7
        worldConfiguration.seed = 11
        let history = WorldGenerator.generate(worldConfiguration).history
        let settings = FeatureSettings(namespace: namespace)
        let definitions = BuiltInFeatures.definitions(settings: settings)
        let copies = try FeatureSet.parse(definitions.map { "general_" + $0.source + "\n" }.joined())
        let variants: [(name: String, extractor: FeatureExtractor)] = [
            ("built-in features on the fused kernels (before)", FeatureExtractor(settings: settings, blocklistShape: nil)),
            ("+ their \(definitions.count) definitions, planned onto the kernels (after)", FeatureExtractor(settings: settings, blocklistShape: nil, features: copies)),
            ("+ their \(definitions.count) definitions on fs_entity_fold", FeatureExtractor(settings: settings, blocklistShape: nil, features: copies, kernelServes: false)),
        ]
        var redisSamples = [[Double]](repeating: [], count: variants.count)
        var workerSamples = [[Double]](repeating: [], count: variants.count)
        let keyspace = Keyspace(namespace: namespace)
        try await FunctionLibrary.features.load(on: redis)
        let rounds = max(1, repeats)
        for round in 0..<rounds {
            // Alternate the order, so no variant always follows the same one.
            for index in round % 2 == 0 ? Array(variants.indices) : variants.indices.reversed() {
                let variant = variants[index]
                try await keyspace.delete(try await keyspace.keys(matching: "\(namespace):*", on: redis), on: redis)
                let before = try await CPUMeter.read(redis)
                var start = 0
                while start < history.count {
                    let stop = min(history.count, start + 100)
                    _ = try await variant.extractor.fetch(Array(history[start..<stop]), on: redis)
                    start = stop
                }
                let after = try await CPUMeter.read(redis)
                redisSamples[index].append((after.redisMicroseconds - before.redisMicroseconds) / Double(history.count))
                workerSamples[index].append((after.processMicroseconds - before.processMicroseconds) / Double(history.count))
            }
        }
        try await keyspace.delete(try await keyspace.keys(matching: "\(namespace):*", on: redis), on: redis)
        let redisMedians = redisSamples.map(median)
        let workerMedians = workerSamples.map(median)
        table.add("featurizing \(history.count) transactions, batches of 100", "", "", "medians of \(rounds) interleaved rounds")
        for (index, variant) in variants.enumerated() {
            // The ratio to `before` in each round, then the median: steadier than a ratio of medians on a shared machine.
            let ratios = zip(redisSamples[index], redisSamples[0]).map { $0 / max($1, 0.001) }
            let versus = index == 0 ? "" : String(format: " (%.2f× before, median of the rounds' ratios)", median(ratios))
            table.add("  \(variant.name): Redis CPU per tx", String(format: "%.1f", redisMedians[index]), "µs", "INFO cpu" + versus + (index == 1 ? "; target <= 1.00× (+ noise)" : ""))
            table.add("  \(variant.name): process CPU per tx", String(format: "%.1f", workerMedians[index]), "µs", "getrusage")
        }
    }
}
