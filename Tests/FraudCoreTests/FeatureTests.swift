import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Feature definitions against a real redis-server")
struct FeatureTests {
    let t0: Int64 = 1_790_812_800_000

    @Test func slidingWindowsExcludeTheLowerEdgeAndIncludeTheUpper() async throws {
        try await withFeatureServer { redis, _, extractor in
            let history = [
                tx("a", at: t0), tx("b", at: t0 + 1), tx("c", at: t0 + 60_000),  // c: a is exactly 60 s old → out of 1m
                tx("d", at: t0 + 3_600_000),  // a exactly 1 h old → out of 1h; b, c in
                tx("e", at: t0 + 86_400_001),  // a, b out of 24 h; c, d in
            ]
            let rows = try await extractor.fetch(history, on: redis)
            #expect(rows.map { $0[Feature.transactionsLastMinute] } == [0, 1, 1, 0, 0])
            #expect(rows.map { $0[Feature.transactionsLastHour] } == [0, 1, 2, 2, 0])
            #expect(rows.map { $0[Feature.transactionsLastDay] } == [0, 1, 2, 3, 2])
            // The 8th transaction trims the set to 25 h (the day, and an hour for late transactions): a and b are gone.
            _ = try await extractor.fetch((1...3).map { tx("late\($0)", at: t0 + 90_000_001 + Int64($0)) }, on: redis)
            let members = try await redis.send(RedisCommand("ZRANGE", FeatureKeys(namespace: "fraud").window("u1"), 0, -1))
            #expect(members.array?.compactMap(\.string) == ["c", "d", "e", "late1", "late2", "late3"])
        }
    }

    @Test func amountStatisticsUsePriorMeanAndDeviation() async throws {
        try await withFeatureServer { redis, _, extractor in
            let rows = try await extractor.fetch(
                [tx("1", amount: 10, at: t0), tx("2", amount: 20, at: t0 + 1), tx("3", amount: 30, at: t0 + 2),
                 tx("4", amount: 40, at: t0 + 3)], on: redis)
            #expect(rows[0][Feature.userTransactionCount] == 0)
            #expect(rows[0][Feature.amountToMeanRatio] == 1)
            #expect(rows[3][Feature.userTransactionCount] == 3)
            #expect(abs(rows[3][Feature.amountZScore] - 2) < 1e-9)  // mean 20, sample std 10
            #expect(abs(rows[3][Feature.amountToMeanRatio] - 2) < 1e-9)
            #expect(abs(rows[1][Feature.logAmount] - log1p(20)) < 1e-12)
        }
    }

    @Test func runningStatisticsStayFiniteAtTheExtremesTheContractAllows() async throws {
        try await withFeatureServer { redis, _, extractor in
            // The largest and smallest amounts the parser accepts, alternating, then a burst of the largest: the
            // running mean and deviation must stay finite, and the amount features must keep working afterwards.
            var history: [Transaction] = []
            for index in 0..<300 {
                let amount = index % 2 == 0 ? TransactionParser.defaultMaximumAmount : 0.01
                history.append(tx("x\(index)", amount: index >= 200 ? TransactionParser.defaultMaximumAmount : amount, at: t0 + Int64(index)))
            }
            let rows = try await extractor.fetch(history, on: redis)
            #expect(rows.allSatisfy { row in row.allSatisfy(\.isFinite) })
            let after = try await extractor.fetch([tx("small", amount: 0.01, at: t0 + 1_000), tx("big", amount: 1e9, at: t0 + 1_001)], on: redis)
            #expect(after.allSatisfy { row in row.allSatisfy(\.isFinite) })
            // A spike is still a spike: the small amount reads far below the mean, the z-score is not stuck at 0.
            #expect(after[0][Feature.amountToMeanRatio] < 1e-6)
            #expect(after[0][Feature.amountZScore] < -0.5)
        }
    }

    @Test func travelSpeedAndDistanceFromHomeUseHaversine() async throws {
        try await withFeatureServer { redis, store, extractor in
            let profile = UserProfile(
                userId: "u1", homeLatitude: 40.7128, homeLongitude: -74.0060, preferredCard: "VISA", segment: "premium",
                riskScore: 0.2, accountCreatedMilliseconds: t0 - 10 * 86_400_000, usualCategories: ["grocery"],
                typicalSpend: 50, devices: ["d1"], ips: [])
            try await store.writeProfiles([profile], on: redis)
            let rows = try await extractor.fetch(
                [tx("ny", at: t0, lat: 40.7128, lon: -74.0060, card: "VISA", category: "grocery"),
                 tx("la", at: t0 + 1_800_000, lat: 34.0522, lon: -118.2437, card: "AMEX", category: "travel")], on: redis)
            let kilometres = Geo.distanceKilometres(latitude1: 40.7128, longitude1: -74.0060, latitude2: 34.0522, longitude2: -118.2437)
            #expect(abs(kilometres - 3_936) < 10)  // New York–Los Angeles great circle
            #expect(rows[0][Feature.distanceFromHomeKilometres] < 0.001)
            #expect(abs(rows[1][Feature.distanceFromHomeKilometres] - kilometres) < 1e-6)
            #expect(rows[0][Feature.secondsSinceLast] == -1)
            #expect(rows[1][Feature.secondsSinceLast] == 1_800)
            #expect(abs(rows[1][Feature.travelSpeedKilometresPerHour] - kilometres * 2) < 1e-6)
            #expect(rows[0][Feature.preferredCardMatch] == 1)
            #expect(rows[1][Feature.preferredCardMatch] == 0)
            #expect(rows[0][Feature.segmentCode] == FeatureSchema.segmentCode("premium"))
            #expect(rows[1][Feature.categoryCode] == FeatureSchema.categoryCode("travel"))
            #expect(abs(rows[0][Feature.accountAgeDays] - 10) < 1e-9)
            #expect(rows[0][Feature.riskScore] == 0.2)
            #expect(rows[0][Feature.unknownUser] == 0)
            let stranger = try await extractor.fetch([tx("x", user: "nobody", at: t0)], on: redis)
            #expect(stranger[0][Feature.unknownUser] == 1)
            #expect(stranger[0][Feature.distanceFromHomeKilometres] == -1)
        }
    }

    @Test func deviceNoveltyAndClickSpamWindow() async throws {
        let settings = FeatureSettings(clickSpamThreshold: 5, clickSpamWindowSeconds: 2)
        try await withFeatureServer(settings: settings) { redis, _, extractor in
            let rows = try await extractor.fetch(
                [tx("1", at: t0, device: "d1"), tx("2", at: t0 + 1, device: "d1"), tx("3", at: t0 + 2, device: "d2")], on: redis)
            #expect(rows.map { $0[Feature.newDevice] } == [1, 0, 1])
            // Six events of one device across users within 2 s; a seventh exactly 2 s after the first sees the first leave.
            var burst: [Transaction] = (0..<6).map { tx("c\($0)", user: "u\($0)", at: t0 + 10_000 + Int64($0) * 100, device: "bot") }
            burst.append(tx("late", user: "u9", at: t0 + 12_000, device: "bot"))
            let spam = try await extractor.fetch(burst, on: redis)
            #expect(spam.map { $0[Feature.deviceEventsInWindow] } == [0, 1, 2, 3, 4, 5, 5])
            #expect(spam.map { $0[Feature.clickSpam] } == [0, 0, 0, 0, 1, 1, 1])
        }
    }

    @Test func distinctMerchantCountStaysWithinHyperLogLogError() async throws {
        try await withFeatureServer { redis, _, extractor in
            let distinct = 2_000
            let batch = (0..<distinct).map { tx("t\($0)", amount: 1, merchant: "merchant-\($0 % distinct)", at: t0 + Int64($0)) }
            _ = try await extractor.fetch(batch, on: redis)
            let probe = try await extractor.fetch([tx("probe", merchant: "merchant-0", at: t0 + 5_000)], on: redis)
            let estimate = probe[0][Feature.distinctMerchantsLastHour]
            // Redis's HLL has a standard error of 0.81%; allow 3 standard errors.
            #expect(abs(estimate - Double(distinct)) / Double(distinct) < 0.0243)
            // A bucket more than an hour old no longer counts.
            let later = try await extractor.fetch([tx("later", merchant: "x", at: t0 + 2 * 3_600_000)], on: redis)
            #expect(later[0][Feature.distinctMerchantsLastHour] == 0)
        }
    }

    /// An unknown user's profile hash (with its running state) can expire before a merchant slot it made later. When
    /// the user comes back, the slots are emptied once: merchants of the earlier life never join the count.
    @Test func merchantSlotsThatOutliveTheRunningStateAreNotCounted() async throws {
        try await withFeatureServer { redis, _, extractor in
            let keys = FeatureKeys(namespace: "fraud")
            _ = try await extractor.fetch([tx("first", user: "ghost", merchant: "m-a", at: t0)], on: redis)
            // The profile hash expired; the slots (every one, so whichever bucket comes round) did not.
            _ = try await redis.send(RedisCommand("DEL", keys.profile("ghost")))
            for slot in 0..<6 { _ = try await redis.send(RedisCommand("PFADD", keys.merchantSlot("ghost", slot), "old-1", "old-2", "old-3")) }
            let back = try await extractor.fetch(
                [tx("back-1", user: "ghost", merchant: "m-b", at: t0 + 1_000), tx("back-2", user: "ghost", merchant: "m-c", at: t0 + 2_000)], on: redis)
            #expect(back.map { $0[Feature.distinctMerchantsLastHour] } == [0, 1])
        }
    }

    @Test func countMinSketchNeverUnderCounts() async throws {
        // A narrow sketch forces collisions; estimates may exceed the truth, never fall below it.
        let settings = FeatureSettings(countMinWidth: 16, countMinDepth: 3)
        try await withFeatureServer(settings: settings) { redis, _, extractor in
            var random = TestRandom(seed: 128)
            var truth: [String: Int] = [:]
            var batch: [Transaction] = []
            var expected: [Int] = []
            for index in 0..<1_500 {
                let merchant = "m\(random.int(below: 120))"
                expected.append(truth[merchant, default: 0])
                truth[merchant, default: 0] += 1
                batch.append(tx("t\(index)", merchant: merchant, at: t0 + Int64(index)))
            }
            let rows = try await extractor.fetch(batch, on: redis)
            var overCounts = 0
            for (row, exact) in zip(rows, expected) {
                #expect(row[Feature.merchantPairCount] >= Double(exact))
                if row[Feature.merchantPairCount] > Double(exact) { overCounts += 1 }
            }
            #expect(overCounts > 0)  // the test would be vacuous without collisions
        }
    }

    @Test func blocklistFeatureFlagsListedIPs() async throws {
        try await withFeatureServer { redis, store, _ in
            let shape = BloomFilterShape(capacity: 100, falsePositiveRate: 0.001)
            try await store.writeBlocklist(["6.6.6.6"], shape: shape, on: redis)
            let extractor = FeatureExtractor(settings: FeatureSettings(), blocklistShape: shape)
            let rows = try await extractor.fetch(
                [tx("1", at: t0, ip: "6.6.6.6"), tx("2", at: t0 + 1, ip: "1.2.3.4"), tx("3", at: t0 + 2)], on: redis)
            #expect(rows.map { $0[Feature.ipBlocklisted] } == [1, 0, 0])
            // A removal takes effect for the next batch, with the shape the extractor already holds.
            #expect(try await store.removeFromBlocklist(["6.6.6.6"], on: redis) == [true])
            let after = try await extractor.fetch([tx("4", at: t0 + 3, ip: "6.6.6.6")], on: redis)
            #expect(after.map { $0[Feature.ipBlocklisted] } == [0])
        }
    }

    @Test func redeliveredTransactionGetsSameFeaturesAndIsNotCountedTwice() async throws {
        try await withFeatureServer { redis, _, extractor in
            let first = try await extractor.fetch([tx("1", amount: 10, at: t0, device: "d"), tx("2", amount: 30, at: t0 + 5, device: "d")], on: redis)
            let again = try await extractor.fetch([tx("2", amount: 30, at: t0 + 5, device: "d")], on: redis)
            // Windows and device events are exact on redelivery; running statistics are read as they are now.
            for feature in [Feature.transactionsLastMinute, Feature.transactionsLastHour, Feature.transactionsLastDay,
                            Feature.deviceEventsInWindow, Feature.amount, Feature.distanceFromHomeKilometres] {
                #expect(again[0][feature] == first[1][feature])
            }
            let next = try await extractor.fetch([tx("3", amount: 50, at: t0 + 10, device: "d")], on: redis)
            #expect(next[0][Feature.userTransactionCount] == 2)
            #expect(next[0][Feature.transactionsLastMinute] == 2)
            #expect(next[0][Feature.deviceEventsInWindow] == 2)
        }
    }

    @Test func trainingReplayAndServingComputeIdenticalVectors() async throws {
        // The same history, once replayed in big batches (training) and once one transaction at a
        // time as a worker would see it (serving), on two fresh servers.
        var random = TestRandom(seed: 99)
        var history: [Transaction] = []
        var clock = t0
        for index in 0..<1_200 {
            clock += Int64(random.next() % 90_000)
            let user = "u\(random.next() % 25)"
            history.append(tx(
                "h\(index)", user: user, amount: Double(random.next() % 50_000) / 100 + 0.5, merchant: "m\(random.next() % 60)",
                at: clock, device: random.next() % 4 == 0 ? nil : "d\(random.next() % 30)", ip: "10.0.0.\(random.next() % 40)",
                lat: 40 + Double(random.next() % 1000) / 100, lon: -74 + Double(random.next() % 1000) / 100, card: "VISA",
                category: FeatureSchema.categories[Int(random.next() % 10)]))
        }
        let blocklist = (0..<10).map { "10.0.0.\($0)" }
        let shape = BloomFilterShape(capacity: 1_000, falsePositiveRate: 0.01)
        func computeAll(batchSize: Int) async throws -> [[Double]] {
            try await withFeatureServer { redis, store, _ in
                try await store.writeBlocklist(blocklist, shape: shape, on: redis)
                let extractor = FeatureExtractor(settings: FeatureSettings(), blocklistShape: shape)
                return try await store.replay(history, extractor: extractor, batchSize: batchSize, on: redis)
            }
        }
        let training = try await computeAll(batchSize: 1_000)
        let serving = try await computeAll(batchSize: 1)
        #expect(training.count == history.count)
        #expect(training == serving)
        #expect(training.contains { $0[Feature.ipBlocklisted] == 1 })
    }
}
