import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Distinct dotted quads `first.x.y.z`, one per number in `range`.
private func addresses(_ first: Int, _ range: Range<Int>) -> [String] {
    range.map { "\(first).\($0 / 65_536).\($0 / 256 % 256).\($0 % 256)" }
}

@Suite("IP blocklist (counting Bloom filter) against a real redis-server")
struct BlocklistTests {
    @Test func removedIPIsNoLongerAMemberWhileOtherAddedIPsStay() async throws {
        try await withFeatureServer { redis, store, _ in
            let shape = try await store.addToBlocklist(["6.6.6.6", "7.7.7.7", "8.8.8.8"], on: redis)
            #expect(shape == BloomFilterShape(
                capacity: FeatureStore.defaultBlocklistCapacity, falsePositiveRate: FeatureStore.defaultBlocklistFalsePositiveRate))
            #expect(try await store.blocklistShape(on: redis) == shape)
            #expect(try await store.isBlocklisted(["6.6.6.6", "7.7.7.7", "8.8.8.8"], on: redis) == [true, true, true])
            #expect(try await store.removeFromBlocklist(["7.7.7.7"], on: redis) == [true])
            #expect(try await store.isBlocklisted(["6.6.6.6", "7.7.7.7", "8.8.8.8"], on: redis) == [true, false, true])
            // A second add keeps the filter it found.
            #expect(try await store.addToBlocklist(["9.9.9.9"], on: redis) == shape)
            #expect(try await store.isBlocklisted(["6.6.6.6", "9.9.9.9"], on: redis) == [true, true])
        }
    }

    @Test func removingANonMemberReturnsFalseAndChangesNothing() async throws {
        try await withFeatureServer { redis, store, _ in
            let keys = store.keys
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [false])
            #expect(try await redis.send(RedisCommand("EXISTS", keys.ipBlocklistCounters, keys.ipBlocklistShape)).int == 0)
            #expect(try await store.isBlocklisted(["6.6.6.6"], on: redis) == [false])

            let shape = BloomFilterShape(capacity: 1_000, falsePositiveRate: 0.001)
            try await store.writeBlocklist(addresses(10, 0..<100), shape: shape, on: redis)
            let before = try await redis.send(RedisCommand("GET", keys.ipBlocklistCounters)).bytes
            #expect(before?.count == shape.byteCount)
            #expect(try await store.removeFromBlocklist(["6.6.6.6", "1.2.3.4"], on: redis) == [false, false])
            #expect(try await redis.send(RedisCommand("GET", keys.ipBlocklistCounters)).bytes == before)
            #expect(try await store.isBlocklisted(addresses(10, 0..<100), on: redis).allSatisfy { $0 })
        }
    }

    @Test func addingAListedIPAgainChangesNothingAndOneRemovalRemovesIt() async throws {
        try await withFeatureServer { redis, store, _ in
            let first = try await store.listOnBlocklist(["6.6.6.6", "6.6.6.6"], on: redis)
            #expect(first.newlyListed == [true, false] && first.members == 1 && !first.overCapacity)
            let counters = try await redis.send(RedisCommand("GET", store.keys.ipBlocklistCounters)).bytes
            #expect(try await store.listOnBlocklist(["6.6.6.6"], on: redis).newlyListed == [false])
            #expect(try await redis.send(RedisCommand("GET", store.keys.ipBlocklistCounters)).bytes == counters)
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [true])
            #expect(try await store.isBlocklisted(["6.6.6.6"], on: redis) == [false])
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [false])
        }
    }

    @Test func aSaturatedCounterIsNeverDecrementedAndNeverAFalseRemoval() async throws {
        try await withFeatureServer { redis, store, _ in
            let shape = BloomFilterShape(capacity: 100, falsePositiveRate: 0.01)
            let counters = store.keys.ipBlocklistCounters
            func values(_ item: String) async throws -> [Int] {
                let get = shape.offsets(item).flatMap { ["GET", "u4", "#\($0)"] }
                let reply = try await redis.send(RedisCommand("BITFIELD_RO", arguments: ([counters] + get).map { $0 as any RedisArgument }))
                return (reply.array ?? []).compactMap(\.int)
            }
            let saturated = BloomFilterShape.saturatedCount
            // Every counter of a listed IP saturated (as fifteen colliding members would leave them): one removal
            // removes it from the record and leaves the counters at 15; a second answers "not listed", truthfully,
            // although the filter still matches it.
            try await store.writeBlocklist(["6.6.6.6"], shape: shape, on: redis)
            for offset in shape.offsets("6.6.6.6") {
                try await redis.send(RedisCommand("BITFIELD", counters, "SET", "u4", "#\(offset)", saturated))
            }
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [true])
            #expect(try await values("6.6.6.6") == Array(repeating: saturated, count: shape.hashes))
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [false])
            let membership = try await store.blocklistMembership(["6.6.6.6"], on: redis)
            #expect(membership.first?.listed == false && membership.first?.filterMatch == true)

            // One saturated counter among ordinary ones: the others go down, it stays.
            try await store.writeBlocklist(["7.7.7.7"], shape: shape, on: redis)
            let first = try #require(shape.offsets("7.7.7.7").first)
            try await redis.send(RedisCommand("BITFIELD", counters, "SET", "u4", "#\(first)", saturated))
            #expect(try await store.removeFromBlocklist(["7.7.7.7"], on: redis) == [true])
            let after = try await values("7.7.7.7")
            #expect(after.first == saturated)
            #expect(after.dropFirst().allSatisfy { $0 == 0 })
        }
    }

    @Test func aListPastTheFiltersCapacitySaysSo() async throws {
        try await withFeatureServer { redis, store, _ in
            try await store.writeBlocklist(["10.0.0.1", "10.0.0.2"], shape: BloomFilterShape(capacity: 2, falsePositiveRate: 0.01), on: redis)
            let third = try await store.listOnBlocklist(["10.0.0.3"], on: redis)
            #expect(third.members == 3 && third.overCapacity)
            #expect(try await store.blocklistSize(on: redis) == (members: 3, capacity: 2))
        }
    }

    /// A filter sized for 2,000 IPs at 1%, full: the measured false-positive rate over 20,000 never-added IPs
    /// stays below twice the configured one (it is printed, about 1%). Removing half the members removes
    /// them (up to that rate) and never the kept half: no false negatives.
    @Test func falsePositiveRateHoldsAndRemovingHalfLeavesNoFalseNegatives() async throws {
        try await withFeatureServer { redis, store, _ in
            let shape = BloomFilterShape(capacity: 2_000, falsePositiveRate: 0.01)
            let members = addresses(10, 0..<2_000)
            let probes = addresses(172, 0..<20_000)
            try await store.writeBlocklist(members, shape: shape, on: redis)
            #expect(try await store.blocklistShape(on: redis) == shape)
            #expect(try await store.isBlocklisted(members, on: redis).allSatisfy { $0 })
            // All 20,000 probes in one call: its BITFIELD_RO reads go out in chunks Lua's unpack() can take.
            var oneCall = store
            oneCall.chunkSize = probes.count
            let falsePositives = try await oneCall.isBlocklisted(probes, on: redis).filter { $0 }.count
            let rate = Double(falsePositives) / Double(probes.count)
            print("counting Bloom filter, \(shape.counters) counters, \(shape.hashes) hashes, 2,000 members: "
                + "false-positive rate \(rate) (\(falsePositives) of \(probes.count)), configured \(shape.falsePositiveRate)")
            #expect(rate > 0, "a filter at capacity shows some false positives")
            #expect(rate < 2 * shape.falsePositiveRate, "measured false-positive rate \(rate)")

            let removed = Array(members.prefix(1_000))
            let kept = Array(members.suffix(1_000))
            #expect(try await store.removeFromBlocklist(removed, on: redis).allSatisfy { $0 })
            #expect(try await store.isBlocklisted(kept, on: redis).allSatisfy { $0 })
            let stillListed = try await store.isBlocklisted(removed, on: redis).filter { $0 }.count
            #expect(Double(stillListed) / Double(removed.count) < 2 * shape.falsePositiveRate, "\(stillListed) removed IPs still listed")
            // Half as full, the filter errs less than before.
            let falsePositivesAfter = try await store.isBlocklisted(probes, on: redis).filter { $0 }.count
            print("after removing 1,000 members: false-positive rate \(Double(falsePositivesAfter) / Double(probes.count)), "
                + "\(stillListed) of the removed still listed")
            #expect(falsePositivesAfter < falsePositives)
        }
    }

    @Test func shapeHashOfTheOldBitmapLayoutIsRefusedWithTheFix() async throws {
        try await withFeatureServer { redis, store, _ in
            let keys = store.keys
            try await redis.send(RedisCommand(
                "HSET", keys.ipBlocklistShape, "bits", 9_586, "hashes", 7, "capacity", 1_000, "fp_rate", 0.01))
            try await redis.send(RedisCommand("SETBIT", keys.legacyIPBlocklistBitmap, 9_585, 1))
            let error = await #expect(throws: RedisError.self) { try await store.blocklistShape(on: redis) }
            #expect(error?.message.contains("plain Bloom filter bitmap") == true)
            #expect(error?.message.contains("fraudstream prepare") == true)
            await #expect(throws: RedisError.self) { try await store.isBlocklisted(["6.6.6.6"], on: redis) }
            await #expect(throws: RedisError.self) { try await store.addToBlocklist(["6.6.6.6"], on: redis) }
            // `prepare`'s write replaces it, and the old bitmap goes.
            let shape = BloomFilterShape(capacity: 1_000, falsePositiveRate: 0.01)
            try await store.writeBlocklist(["6.6.6.6"], shape: shape, on: redis)
            #expect(try await store.blocklistShape(on: redis) == shape)
            #expect(try await redis.send(RedisCommand("HGET", keys.ipBlocklistShape, "bits")).isNull)
            #expect(try await redis.send(RedisCommand("EXISTS", keys.legacyIPBlocklistBitmap)).int == 0)
            #expect(try await store.isBlocklisted(["6.6.6.6"], on: redis) == [true])
        }
    }

    @Test func loadingAWorldAgainCountsInOnlyWhatIsMissingAndNeverAnOperatorsEntry() async throws {
        try await withFeatureServer { redis, store, _ in
            let keys = store.keys
            func load(_ ips: [String]) async throws -> FeatureStore.WorldBlocklistLoad {
                try await store.loadWorldBlocklist(ips, capacity: 1_000, falsePositiveRate: 0.001, on: redis)
            }
            // Operators' entries, one of them also a world IP.
            try await store.addToBlocklist(["203.0.113.7", "1.1.1.1"], on: redis)
            let first = try await load(["1.1.1.1", "2.2.2.2", "2.2.2.2", "3.3.3.3"])
            // The filter `blocklist add` created is kept, whatever size was asked for.
            #expect(first.shape == BloomFilterShape(
                capacity: FeatureStore.defaultBlocklistCapacity, falsePositiveRate: FeatureStore.defaultBlocklistFalsePositiveRate))
            #expect(first.requestedShape == BloomFilterShape(capacity: 1_000, falsePositiveRate: 0.001))
            #expect(!first.created && first.worldIPs == 3 && first.added == 3 && first.removed == 0)
            let counters = try await redis.send(RedisCommand("GET", keys.ipBlocklistCounters)).bytes

            // The same world again changes no counter.
            let again = try await load(["3.3.3.3", "2.2.2.2", "1.1.1.1"])
            #expect(again.added == 0 && again.removed == 0)
            #expect(try await redis.send(RedisCommand("GET", keys.ipBlocklistCounters)).bytes == counters)

            // An operator removes a world IP: reloading the world does not bring it back.
            #expect(try await store.removeFromBlocklist(["3.3.3.3"], on: redis) == [true])
            #expect(try await load(["1.1.1.1", "2.2.2.2", "3.3.3.3"]).added == 0)
            #expect(try await store.isBlocklisted(["3.3.3.3"], on: redis) == [false])

            // Another world: its new IP in, the old world's out, and the operators' count of 1.1.1.1 stays.
            let next = try await load(["4.4.4.4"])
            #expect(next.added == 1 && next.removed == 3)
            #expect(try await store.worldBlocklistIPs(on: redis) == ["4.4.4.4"])
            #expect(try await store.isBlocklisted(["203.0.113.7", "1.1.1.1", "4.4.4.4", "2.2.2.2"], on: redis) == [true, true, true, false])
        }
    }

    @Test func aWorldLoadedWhereThereIsNoFilterCreatesOneOfTheAskedSize() async throws {
        try await withFeatureServer { redis, store, _ in
            let load = try await store.loadWorldBlocklist(["1.1.1.1"], capacity: 500, falsePositiveRate: 0.01, on: redis)
            #expect(load.created && !load.replacedOldLayout && load.added == 1)
            #expect(load.shape == BloomFilterShape(capacity: 500, falsePositiveRate: 0.01))
            #expect(try await store.blocklistShape(on: redis) == load.shape)
            #expect(try await store.isBlocklisted(["1.1.1.1", "9.9.9.9"], on: redis) == [true, false])
        }
    }
    @Test func aRunningWorkerFollowsABlocklistCreatedAfterItStarted() async throws {
        try await WorkerHarness.with { harness in
            // No blocklist when the worker starts; an operator creates one while it runs.
            let keys = FeatureKeys(namespace: "fraud")
            try await harness.redis.send(RedisCommand("DEL", keys.ipBlocklistCounters, keys.ipBlocklistShape))
            try await harness.withWorker(harness.configuration()) { _ in
                _ = try await FeatureStore(namespace: "fraud").addToBlocklist(["7.7.7.7"], on: harness.redis)
                var probe = 0
                try await waitUntil("a transaction from the new blocklist's IP to be flagged", timeout: .seconds(60), pollEvery: .milliseconds(200)) {
                    probe += 1
                    var fields = WorkerHarness.fields(probe).filter { $0.0 != "ip" && $0.0 != "transaction_id" }
                    fields += [("ip", "7.7.7.7"), ("transaction_id", "probe-\(probe)")]
                    try await harness.publish([fields])
                    return try await harness.entries("fraud:results").contains { ($0["reasons"] ?? "").contains("ip_blocklist") }
                }
            }
        }
    }
}
