import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Every key FraudStream writes has a bound: a TTL, a cap, or both. These tests look at the keys
/// themselves (`PTTL`, `ZCARD`, `SCAN`) on a real redis-server.
@Suite("Key bounds against a real redis-server")
struct KeyBoundsTests {
    let t0: Int64 = 1_790_812_800_000

    /// `PTTL` of each key, pipelined: ms left, -1 without TTL, -2 gone.
    static func millisecondsLeft(_ keys: [String], on redis: RedisConnection) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        var start = 0
        while start < keys.count {
            let chunk = Array(keys[start..<min(keys.count, start + 5_000)])
            let replies = try await redis.pipeline(chunk.map { RedisCommand("PTTL", $0) })
            for (key, reply) in zip(chunk, replies) { result[key] = reply.int ?? -3 }
            start += chunk.count
        }
        return result
    }

    @Test func tenThousandRandomUnknownUsersLeaveOnlyKeysThatExpire() async throws {
        // A TTL no loaded machine can outrun while the keys are counted; expiry itself is checked below on a
        // second set of users with a short TTL, waited for rather than timed.
        let settings = FeatureSettings(userStateTTLSeconds: 3_600, unknownUserTTLSeconds: 600)
        try await withFeatureServer(settings: settings) { redis, _, _ in
            let call = UserFeaturesCall(settings: settings)
            let users = Self.randomUsers(10_000, prefix: "rnd")
            try await Self.twoTransactionsEach(users, call: call, at: t0, on: redis)

            let keys = try await Keyspace(namespace: settings.namespace).keys(matching: "\(settings.namespace):{rnd-*", on: redis)
            // 6 a user: profile, window, devices, sketch, and the two merchant slots of its two merchants.
            #expect(keys.count == 60_000)
            let left = try await Self.millisecondsLeft(keys, on: redis)
            let withoutTTL = left.filter { $0.value == -1 }.map(\.key)
            #expect(withoutTTL.count == 0, "\(withoutTTL.count) keys without TTL, e.g. \(withoutTTL.prefix(5))")
            let outside = left.filter { !(1...600_000).contains($0.value) }
            #expect(outside.isEmpty, "\(outside.count) keys with a TTL outside 600 s, e.g. \(outside.prefix(3))")
            #expect(keys.contains { $0.hasSuffix("}:devices") } && keys.contains { $0.hasSuffix("}:profile") })

            // And they go: 200 more unknown users with a 1 s TTL leave nothing behind once it has passed.
            let short = FeatureSettings(userStateTTLSeconds: 3_600, unknownUserTTLSeconds: 1)
            try await Self.twoTransactionsEach(Self.randomUsers(200, prefix: "gone"), call: UserFeaturesCall(settings: short), at: t0, on: redis)
            try await waitUntil("the short-lived unknown users' keys to expire", timeout: .seconds(120), pollEvery: .milliseconds(500)) {
                try await Keyspace(namespace: settings.namespace).keys(matching: "\(settings.namespace):{gone-*", on: redis).isEmpty
            }
            // The long-lived ones are all still there.
            #expect(try await Keyspace(namespace: settings.namespace).keys(matching: "\(settings.namespace):{rnd-*", on: redis).count == 60_000)
        }
    }

    static func randomUsers(_ count: Int, prefix: String) -> [String] {
        var random = TestRandom(seed: 77)
        return (0..<count).map { index in "\(prefix)-\(index)-\(String(random.next(), radix: 36))" }
    }

    /// Two transactions per user in one refresh period: only each user's first transaction refreshes, so the device
    /// set and the merchant slot the second one creates must get their TTL when they are created.
    static func twoTransactionsEach(_ users: [String], call: UserFeaturesCall, at t0: Int64, on redis: RedisConnection) async throws {
        let marks = call.currentRefreshMarks()
        var commands: [RedisCommand] = []
        for (index, user) in users.enumerated() {
            commands.append(call.command(tx("a\(index)", user: user, merchant: "m\(index % 97)", at: t0), marks: marks))
            commands.append(call.command(
                tx("b\(index)", user: user, merchant: "n\(index % 89)", at: t0 + 900_000, device: "dev-\(index)", lat: 1, lon: 2),
                marks: marks))
        }
        var start = 0
        while start < commands.count {
            let chunk = Array(commands[start..<min(commands.count, start + 2_000)])
            for reply in try await redis.pipeline(chunk) { _ = try UserFeaturesCall.decode(reply) }
            start += chunk.count
        }
    }

    @Test func knownUsersProfileNeverExpiresWhileItsDynamicKeysDo() async throws {
        // 8 s: long enough that a loaded machine reads the TTLs before they run out, short enough to wait for.
        let settings = FeatureSettings(userStateTTLSeconds: 8, unknownUserTTLSeconds: 600)
        try await withFeatureServer(settings: settings) { redis, store, extractor in
            let keys = FeatureKeys(namespace: settings.namespace)
            let profile = UserProfile(
                userId: "known", homeLatitude: 51.5, homeLongitude: -0.1, preferredCard: "VISA", segment: "premium",
                riskScore: 0.2, accountCreatedMilliseconds: t0 - 86_400_000, usualCategories: [], typicalSpend: 30,
                devices: [], ips: [])
            try await store.writeProfiles([profile], on: redis)
            let history = (0..<20).map { index in
                tx("k\(index)", user: "known", merchant: "m\(index % 4)", at: t0 + Int64(index) * 400_000, device: "d\(index % 3)",
                   lat: 51.5, lon: -0.1)
            }
            _ = try await extractor.fetch(history, on: redis)
            let dynamic = [keys.window("known"), keys.devices("known"), keys.countMin("known")]
                + (0..<UserFeaturesCall.merchantSlots).map { keys.merchantSlot("known", $0) }
            let left = try await Self.millisecondsLeft(dynamic + [keys.profile("known")], on: redis)
            #expect(left[keys.profile("known")] == -1)
            for key in dynamic {
                #expect(left[key] == -2 || (1...8_000).contains(left[key] ?? -3), "\(key): \(left[key] ?? -3)")
            }
            #expect(left[keys.window("known")] != -2)

            try await waitUntil("the known user's dynamic keys to expire", timeout: .seconds(40), pollEvery: .milliseconds(200)) {
                try await Self.millisecondsLeft(dynamic, on: redis).values.allSatisfy { $0 == -2 }
            }
            // The profile and its running state stay; the next transaction starts new windows, with TTLs again.
            let stored = try await redis.send(RedisCommand("HGETALL", keys.profile("known"))).stringPairs ?? [:]
            let state = try await redis.send(RedisCommand("HGET", keys.profile("known"), "state")).bytes
            #expect(stored["segment"] == "premium" && state.flatMap { UserFeaturesCall.PackedState($0) }?.transactionCount == 20)
            #expect(try await redis.send(RedisCommand("PTTL", keys.profile("known"))).int == -1)
            let next = try await extractor.fetch([tx("k20", user: "known", at: t0 + 20 * 400_000, device: "d9")], on: redis)
            #expect(next[0][Feature.transactionsLastDay] == 0)
            #expect(next[0][Feature.userTransactionCount] == 20)
            let renewed = try await Self.millisecondsLeft([keys.window("known"), keys.devices("known"), keys.countMin("known")], on: redis)
            #expect(renewed.values.allSatisfy { (1...8_000).contains($0) }, "\(renewed)")
        }
    }

    @Test func aUserWhoGainsAProfileLosesTheUnknownUsersTTL() async throws {
        let settings = FeatureSettings(userStateTTLSeconds: 900, unknownUserTTLSeconds: 600)
        try await withFeatureServer(settings: settings) { redis, store, _ in
            let keys = FeatureKeys(namespace: settings.namespace)
            let call = UserFeaturesCall(settings: settings)
            let marks = call.currentRefreshMarks()
            for user in ["loaded", "written"] {
                _ = try UserFeaturesCall.decode(try await redis.send(call.command(tx("\(user)-1", user: user, at: t0), marks: marks)))
                let ttl = try await redis.send(RedisCommand("PTTL", keys.profile(user))).int ?? -3
                #expect((1...600_000).contains(ttl), "\(user) before its profile: \(ttl)")
            }
            // Loaded by FeatureStore: PERSIST at once.
            let profile = UserProfile(
                userId: "loaded", homeLatitude: 1, homeLongitude: 2, preferredCard: "VISA", segment: "standard", riskScore: 0.1,
                accountCreatedMilliseconds: t0 - 1, usualCategories: [], typicalSpend: 10, devices: [], ips: [])
            try await store.writeProfiles([profile], on: redis)
            #expect(try await redis.send(RedisCommand("PTTL", keys.profile("loaded"))).int == -1)
            // Written by someone else with a plain HSET: the next transaction, even in the same refresh period, is a
            // known user's, whose mark differs, so it refreshes: PERSIST, and the dynamic keys take the known TTL.
            try await redis.send(RedisCommand("HSET", keys.profile("written"), "home_lat", "1", "home_lon", "2", "segment", "standard"))
            let reply = try UserFeaturesCall.decode(try await redis.send(call.command(tx("written-2", user: "written", at: t0 + 1), marks: marks)))
            #expect(reply.segment == "standard")
            #expect(try await redis.send(RedisCommand("PTTL", keys.profile("written"))).int == -1)
            let window = try await redis.send(RedisCommand("PTTL", keys.window("written"))).int ?? -3
            #expect((600_001...900_000).contains(window), "window \(window)")
        }
    }

    @Test func deviceSetKeepsTheMostRecentDevicesAndNewDeviceMeansNotSeenAmongThem() async throws {
        try await withFeatureServer { redis, _, _ in
            let settings = FeatureSettings()
            let call = UserFeaturesCall(settings: settings)
            let devicesKey = FeatureKeys(namespace: settings.namespace).devices("many")
            func send(_ transaction: Transaction) async throws -> UserFeaturesReply {
                try UserFeaturesCall.decode(try await redis.send(call.command(transaction)))
            }
            let cap = UserFeaturesCall.maximumDevices
            for index in 0..<100 {
                let reply = try await send(tx("t\(index)", user: "many", at: t0 + Int64(index) * 1_000, device: "d\(index)"))
                #expect(reply.isNewDevice, "d\(index)")
                let size = try await redis.send(RedisCommand("ZCARD", devicesKey)).int ?? -1
                #expect(size == min(index + 1, cap))
            }
            let kept = try await redis.send(RedisCommand("ZRANGE", devicesKey, 0, -1)).array?.compactMap(\.string) ?? []
            #expect(Set(kept) == Set(((100 - cap)..<100).map { "d\($0)" }))
            // Seen among the kept ones: not new; a redelivery folds nothing in.
            #expect(try await send(tx("t100", user: "many", at: t0 + 100_000, device: "d99")).isNewDevice == false)
            let redelivered = try await send(tx("t100", user: "many", at: t0 + 100_000, device: "d99"))
            #expect(!redelivered.isFresh && !redelivered.isNewDevice)
            // A late event never makes a device look older than it is.
            _ = try await send(tx("late", user: "many", at: t0, device: "d98"))
            #expect(try await redis.send(RedisCommand("ZSCORE", devicesKey, "d98")).string == "\(t0 + 98_000)")
            // A device pushed out by newer ones counts as new again.
            #expect(try await send(tx("t101", user: "many", at: t0 + 101_000, device: "d0")).isNewDevice)
            #expect(try await redis.send(RedisCommand("ZCARD", devicesKey)).int == cap)
            #expect((try await redis.send(RedisCommand("PTTL", devicesKey)).int ?? -3) > 0)
        }
    }

    @Test func workerWritesNoResultKeysByDefaultAndEveryStatisticsKeyExpires() async throws {
        try await WorkerHarness.with { harness in
            let count = 120
            var entries = (0..<count).map { WorkerHarness.fields($0) }
            var badRun = WorkerHarness.fields(count)
            badRun.removeAll { $0.0 == "run_id" }
            badRun.append(("run_id", "run with spaces/and slashes"))
            entries.append(badRun)
            try await harness.publish(entries)
            var configuration = harness.configuration()
            configuration.statsTTLSeconds = 1_000
            #expect(configuration.resultTTLSeconds == 0)  // the default
            _ = try await harness.runWorker(configuration) {
                let written = try await harness.length("fraud:results")
                let deadLettered = try await harness.length("fraud:dead_letters")
                return written >= count && deadLettered >= 1
            }
            let keyspace = Keyspace(namespace: "fraud")
            #expect(try await keyspace.keys(matching: "fraud:result:*", on: harness.redis).isEmpty)

            let dead = try await harness.entries("fraud:dead_letters")
            #expect(dead.count == 1)
            #expect(dead.first?["reason"] == "run_id 'run with spaces/and slashes' has characters outside A-Z a-z 0-9 . _ : -")
            let statisticsKeys = try await keyspace.keys(matching: "fraud:stats:*", on: harness.redis)
            let keys = RunStatisticsKeys(namespace: "fraud")
            let expected = [
                keys.run("run-test"), keys.workers(run: "run-test"), keys.worker(run: "run-test", worker: "w1"),
                keys.workerLatency(run: "run-test", worker: "w1"), keys.run("none"), keys.workers(run: "none"),
                keys.worker(run: "none", worker: "w1"),
            ]
            #expect(Set(statisticsKeys) == Set(expected))  // the invalid run id created nothing; its dead letter counts under `none`
            #expect(try await harness.redis.send(RedisCommand("HGET", keys.run("none"), "dead_letters")).int == 1)
            let left = try await Self.millisecondsLeft(statisticsKeys, on: harness.redis)
            #expect(left.values.allSatisfy { (1...1_000_000).contains($0) }, "\(left)")
        }
    }
}
