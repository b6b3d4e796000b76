import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream prepare")
struct PrepareCommandTests {
    /// A replay of several seconds reports progress while it runs (and through a pipe, not at exit).
    @Test func replayReportsProgressWhileItRuns() async throws {
        try await withRedisServer { server in
            try await ChildProcess.run(
                ["prepare", "--users", "1500", "--days", "8", "--trees", "3", "--redis-url", "redis://127.0.0.1:\(server.port)"]
            ) { prepare in
                try await waitUntil("a replay progress line", timeout: .seconds(60)) {
                    prepare.standardOutput.split(separator: "\n").contains { $0.hasPrefix("replay      ") && $0.contains(" / ") }
                }
                let termination = try await prepare.waitForExit(timeout: .seconds(120))
                #expect(termination == .exited(0), "stderr: \(prepare.standardError)")
                let lines = prepare.standardOutput.split(separator: "\n")
                let progress = lines.firstIndex { $0.hasPrefix("replay      ") && $0.contains(" / ") }
                let summary = lines.firstIndex { $0.hasPrefix("replay      ") && $0.contains("through the serving feature path") }
                #expect(progress != nil && summary != nil && progress! < summary!)
            }
        }
    }

    /// The world `prepare --users 100 --days 2 --seed <seed>` loads.
    static func world(seed: UInt64 = 42) -> SyntheticWorld {
        var configuration = WorldConfiguration()
        configuration.users = 100
        configuration.days = 2
        configuration.seed = seed
        return WorldGenerator.generate(configuration)
    }

    @Test func prepareRefusesToClearANamespaceThatServedTrafficUnlessResetStateAndKeepsOperatorsBlocklistEntries() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            try await harness.publish((0..<100).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 100 }
            #expect(try await FraudStreamBinary.run(["blocklist", "add", "203.0.113.7"] + redisArguments).status == 0)
            let store = FeatureStore(namespace: "fraud")
            try await store.addToBlocklist(["198.51.100.9"], on: harness.redis)
            let state = try await Keyspace(namespace: "fraud").featureState(on: harness.redis)
            try #require(!state.dynamicKeys.isEmpty)
            let before = try await KeySnapshot.take(harness.redis)

            let prepare = ["prepare", "--users", "100", "--days", "2", "--trees", "5"] + redisArguments
            let refused = try await FraudStreamBinary.run(prepare)
            #expect(refused.status == 77)
            #expect(refused.standardOutput.isEmpty)
            let lines = refused.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(refused.standardError)")
            let line = String(lines.first ?? "")
            #expect(line.hasPrefix("fraudstream: namespace 'fraud' has served traffic (fraud:results holds 100 entries, "), "\(line)")
            // The worker's decisions are among the feature state (one decision key per transaction).
            #expect(line.contains("prepare would delete \(state.dynamicKeys.count) feature-state keys (100 decision records among them) "
                + "and the running state of \(state.profiles.count) profiles; pass --reset-state"), "\(line)")
            let untouched = try await KeySnapshot.take(harness.redis)
            #expect(untouched == before, "the refused prepare changed: \(untouched.differences(from: before))")

            let reset = try await FraudStreamBinary.run(prepare + ["--reset-state"])
            #expect(reset.status == 0, "stderr: \(reset.standardError)")
            let world = Self.world()
            let worldIPs = Set(world.blocklistedIPs)
            #expect(reset.standardOutput.contains("\(worldIPs.count) blocklisted IPs (\(worldIPs.count) added; operators' entries kept"), "\(reset.standardOutput)")
            // The harness's filter is smaller than prepare's default: kept, with its members.
            #expect(reset.standardOutput.contains("note        kept the existing blocklist filter (capacity 1000"))
            #expect(reset.standardOutput.contains("cleared \(state.dynamicKeys.count + state.profiles.count) feature-state keys"))
            let operators = ["203.0.113.7", "198.51.100.9", "6.6.6.6"]
            let check = try await FraudStreamBinary.run(["blocklist", "check"] + operators + redisArguments)
            #expect(check.status == 0, "\(check.standardOutput)")
            #expect(try await store.isBlocklisted(world.blocklistedIPs, on: harness.redis).allSatisfy { $0 })
            #expect(try await store.worldBlocklistIPs(on: harness.redis) == worldIPs)
            // The results and statistics of the traffic stay; only feature state was rebuilt.
            #expect(try await harness.length("fraud:results") == 100)

            // Reloading another world counts in only its new IPs and counts out only the earlier world's.
            let other = Self.world(seed: 7)
            let again = try await FraudStreamBinary.run(
                ["prepare", "--users", "100", "--days", "2", "--seed", "7", "--trees", "5", "--reset-state"] + redisArguments)
            #expect(again.status == 0, "stderr: \(again.standardError)")
            let otherIPs = Set(other.blocklistedIPs)
            #expect(again.standardOutput.contains("(\(otherIPs.subtracting(worldIPs).count) added, \(worldIPs.subtracting(otherIPs).count) of an earlier world removed"),
                    "\(again.standardOutput)")
            #expect(try await store.worldBlocklistIPs(on: harness.redis) == otherIPs)
            #expect(try await store.isBlocklisted(operators + other.blocklistedIPs, on: harness.redis).allSatisfy { $0 })
        }
    }

    @Test func prepareAgainWithoutTrafficRebuildsAndAddsOnlyMissingWorldIPs() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let prepare = ["prepare", "--users", "100", "--days", "2", "--trees", "5"] + redisArguments
            let first = try await FraudStreamBinary.run(prepare)
            #expect(first.status == 0, "stderr: \(first.standardError)")
            #expect(first.standardOutput.contains("blocklisted IPs (new filter, \(Set(Self.world().blocklistedIPs).count) added;"), "\(first.standardOutput)")
            let add = try await FraudStreamBinary.run(["blocklist", "add", "203.0.113.7"] + redisArguments)
            #expect(add.status == 0, "\(add.standardError)")
            let redis = try await RedisConnection.connect(server.configuration)
            let counters = try await redis.send(RedisCommand("GET", "fraud:blocklist:ip:counters")).bytes
            // No traffic yet, so prepare may run again: it rebuilds the feature state and adds no IP twice.
            let second = try await FraudStreamBinary.run(prepare)
            #expect(second.status == 0, "a namespace only prepare wrote is prepared again; stderr: \(second.standardError)")
            #expect(second.standardOutput.contains("blocklisted IPs (0 added; operators' entries kept"), "\(second.standardOutput)")
            #expect(try await redis.send(RedisCommand("GET", "fraud:blocklist:ip:counters")).bytes == counters)
            #expect(try await FraudStreamBinary.run(["blocklist", "check", "203.0.113.7"] + redisArguments).status == 0)
            // Each rebuild is in the audit log, with what it deleted.
            let audit = try await FraudStreamBinary.run(["audit", "list", "--json", "--action", "prepare"] + redisArguments)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.standardOutput.utf8)) as? [[String: Any]])
            #expect(entries.count == 2 && entries.allSatisfy { ($0["actor"] as? String)?.hasPrefix("cli:") == true }, "\(entries)")
            #expect((entries.last?["change"] as? String)?.contains("feature-state keys") == true, "\(entries)")
        }
    }

    @Test func servedTrafficIsResultsStatisticsAPIDecisionsOrStateThatPrepareDidNotWrite() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            func survey() async throws -> LiveState {
                try await LiveState.survey(namespace: "fraud", resultsStreams: ["fraud:results"], on: redis)
            }
            #expect(try await survey().hasServedTraffic == false)
            // Prepare's own state, with its world record: no traffic.
            try await PreparedWorld(users: 1, seed: 1).save(namespace: "fraud", on: redis)
            try await redis.send(RedisCommand("ZADD", "fraud:{u1}:window", 1, "t1"))
            try await redis.send(RedisCommand("HSET", "fraud:{u1}:profile", "segment", "standard"))
            // The generator's run metadata is not traffic either: nothing was scored.
            try await redis.send(RedisCommand("HSET", "fraud:stats:run:r1:meta", "target_tps", 10))
            var live = try await survey()
            #expect(!live.hasServedTraffic, "\(live.trafficEvidence)")
            #expect(live.deletionSummary == "1 feature-state key and the running state of 1 profile")

            try await redis.send(RedisCommand("HSET", "fraud:stats:run:r1", "processed", 3))
            #expect(try await survey().trafficEvidence == ["1 run statistics key"])
            try await redis.send(RedisCommand("DEL", "fraud:stats:run:r1"))

            try await redis.send(RedisCommand("SET", "fraud:{u1}:decision:t9", "{}"))
            live = try await survey()
            #expect(live.trafficEvidence == ["1 decision record"])
            #expect(live.deletionSummary == "2 feature-state keys (1 decision record among them) and the running state of 1 profile")
            try await redis.send(RedisCommand("DEL", "fraud:{u1}:decision:t9"))

            // A partition's results stream is found by SCAN, whatever the settings name.
            try await redis.send(RedisCommand("XADD", "fraud:results:{p1}", "*", "transaction_id", "t1"))
            #expect(try await survey().trafficEvidence == ["fraud:results:{p1} holds 1 entry"])
            try await redis.send(RedisCommand("DEL", "fraud:results:{p1}"))

            try await redis.send(RedisCommand("DEL", PreparedWorld.key(namespace: "fraud")))
            #expect(try await survey().trafficEvidence == ["feature state that prepare did not write (no fraud:world)"])
        }
    }
}
