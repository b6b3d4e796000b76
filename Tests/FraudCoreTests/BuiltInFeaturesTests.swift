import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// The built-in velocity counts and device window are feature-language definitions (version 0) that the fused kernels
/// compute. The general fold computing the same definitions must give the same numbers, and a team's definition that
/// asks for what a kernel computes is served from it.
@Suite("Built-in features as definitions: the fused kernels against the general fold")
struct BuiltInFeaturesTests {
    /// Version 0's definitions under other names, so the general fold computes them beside the kernels.
    static func generalCopies(_ settings: FeatureSettings) throws -> FeatureSet {
        try FeatureSet.parse(BuiltInFeatures.definitions(settings: settings).map { "general_" + $0.source + "\n" }.joined())
    }

    /// A world's history, in batches, with the world's click-spam bursts inside the device window.
    static func history() -> [Transaction] {
        var configuration = WorldConfiguration()
        configuration.users = 150
        configuration.days = 4
        return WorldGenerator.generate(configuration).history
    }

    @Test func theGeneralFoldGivesWhatTheKernelsGiveOnAWorldsHistory() async throws {
        let settings = FeatureSettings()
        let definitions = BuiltInFeatures.definitions(settings: settings)
        #expect(definitions.map(\.name) == ["tx_count_1m", "tx_count_1h", "tx_count_24h", "device_events_window"])
        try await withFeatureServer(settings: settings) { redis, _, _ in
            let extractor = FeatureExtractor(settings: settings, blocklistShape: nil, features: try Self.generalCopies(settings), kernelServes: false)
            #expect(extractor.entities?.kernelServed.isEmpty == true)
            let history = Self.history()
            try #require(history.count > 500)
            var rows: [[Double]] = []
            var start = 0
            while start < history.count {
                let batch = Array(history[start..<min(history.count, start + 100)])
                rows += try await extractor.fetch(batch, on: redis)
                start += batch.count
            }
            let kernels = definitions.compactMap { FeatureSchema.index(of: $0.name) }
            try #require(kernels.count == definitions.count)
            // A redelivered batch counts nothing twice on either side: each count is the number of other events of its
            // user or device in its window, counted by brute force over the history. Both keep events past their window
            // (the user kernel an hour, the general fold min(window, 1 h), the device kernel to 60 s), so this holds for
            // a transaction redelivered within that margin of its entity's newest event.
            let again = try await extractor.fetch(Array(history.suffix(100)), on: redis)
            var checked = 0
            for (row, transaction) in zip(again, history.suffix(100)) {
                for (position, definition) in definitions.enumerated() {
                    let window = try #require(definition.windowMilliseconds)
                    let key: (Transaction) -> String? = definition.entity.field == "user_id" ? { $0.userId } : { $0.deviceId }
                    guard key(transaction) != nil else { continue }
                    let entity = history.filter { key($0) == key(transaction) }
                    let margin: Int64 = definition.entity.field == "user_id" ? 3_600_000 : 60_000 - window
                    guard let newest = entity.map(\.timestampMilliseconds).max(), newest - transaction.timestampMilliseconds <= margin else { continue }
                    let expected = entity.filter { other in
                        other.transactionId != transaction.transactionId
                            && other.timestampMilliseconds > transaction.timestampMilliseconds - window
                            && other.timestampMilliseconds <= transaction.timestampMilliseconds
                    }.count
                    checked += 1
                    #expect(row[kernels[position]] == Double(expected) && row[FeatureSchema.count + position] == Double(expected),
                            "\(transaction.transactionId) \(definition.name): kernel \(row[kernels[position]]), general \(row[FeatureSchema.count + position]), brute force \(expected)")
                }
            }
            #expect(checked > 100)
            var differing = 0
            for (row, transaction) in zip(rows, history) {
                for (position, kernel) in kernels.enumerated() where row[kernel] != row[FeatureSchema.count + position] {
                    differing += 1
                    if differing <= 5 {
                        Issue.record("\(transaction.transactionId): \(definitions[position].name) kernel \(row[kernel]), general fold \(row[FeatureSchema.count + position])")
                    }
                }
            }
            #expect(differing == 0)
            // The comparison means something: every definition saw non-zero values.
            for (position, definition) in definitions.enumerated() {
                #expect(rows.contains { $0[FeatureSchema.count + position] > 0 }, "\(definition.name) is 0 throughout")
            }
        }
    }

    @Test func aTeamDefinitionAKernelComputesIsServedFromItWithNoStateOfItsOwn() async throws {
        let settings = FeatureSettings()
        let set = try FeatureSet.parse("""
            user_tx_1h = count() by user_id over 1h
            ip_spend_10m = sum(amount) by ip over 10m
            device_burst = count() by device_id over 5s
            user_tx_2h = count() by user_id over 2h
            """)
        try await withFeatureServer(settings: settings) { redis, _, _ in
            let extractor = FeatureExtractor(settings: settings, blocklistShape: nil, features: set)
            #expect(extractor.entities?.kernelServed == [
                .init(slot: 0, builtIn: Feature.transactionsLastHour), .init(slot: 2, builtIn: Feature.deviceEventsInWindow),
            ])
            let history = Array(Self.history().prefix(1_500))
            // A set the kernels serve entirely sends the very pipeline of the built-in features alone.
            let servedOnly = FeatureExtractor(
                settings: settings, blocklistShape: nil,
                features: try FeatureSet.parse("a = count() by user_id over 24h\nb = count() by device_id over 5s"))
            let batch = Array(history.prefix(100))
            #expect(servedOnly.plan(batch).commands == FeatureExtractor(settings: settings, blocklistShape: nil).plan(batch).commands)
            var rows: [[Double]] = []
            for start in stride(from: 0, to: history.count, by: 100) {
                rows += try await extractor.fetch(Array(history[start..<min(history.count, start + 100)]), on: redis)
            }
            for row in rows {
                #expect(row[FeatureSchema.count] == row[Feature.transactionsLastHour])
                #expect(row[FeatureSchema.count + 2] == row[Feature.deviceEventsInWindow])
                #expect(row[FeatureSchema.count + 3] >= row[Feature.transactionsLastHour])
            }
            #expect(rows.contains { $0[FeatureSchema.count] > 0 })
            // Only the general fold's entities have state: ip and the 2 h user window, no device entity.
            let keys = try await redis.send(RedisCommand("KEYS", "fraud:{fe:*")).array?.compactMap(\.string) ?? []
            #expect(keys.contains { $0.hasPrefix("fraud:{fe:ip:") })
            #expect(keys.contains { $0.hasPrefix("fraud:{fe:user_id:") })
            #expect(!keys.contains { $0.hasPrefix("fraud:{fe:device_id:") })
            // A degraded answer carries the kernel's value for a served definition too.
            let degraded = extractor.degradedVector(history[0])
            #expect(degraded.count == FeatureSchema.count + 4 && degraded[FeatureSchema.count] == degraded[Feature.transactionsLastHour])
        }
    }
    /// `export-features` of the built-in set is byte-identical to what the code before the built-in features became
    /// definitions wrote (`cmp` of the two binaries' files, 452 rows). The hash pins it: a change to any built-in
    /// feature's value, or to the world, changes it, and then this test says so. Update it only on purpose.
    @Test func exportFeaturesOfTheBuiltInSetStaysByteIdentical() async throws {
        try await withRedisServer { server in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let out = directory.appendingPathComponent("rows.csv").path
            let export = try await FraudStreamBinary.run([
                "export-features", "--out", out, "--users", "60", "--days", "3", "--seed", "7", "--card-cycling-incidents", "3",
                "--redis-url", "redis://127.0.0.1:\(server.port)",
            ])
            #expect(export.status == 0, "\(export.standardError)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(text.split(separator: "\n").count == 453)
            #expect(String(StableHash.hash(text), radix: 16) == "a4795cb972771cfe")
        }
    }
}
