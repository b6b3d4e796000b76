import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Features fraud teams define, computed by `fs_entity_fold` on a real redis-server, against brute force over the same
/// transactions: every aggregation, windows at their exact edges, filters, entity prefixes, duplicates counted once,
/// and bounded state.
@Suite("Entity features against a real redis-server")
struct EntityFeaturesTests {
    static let definitions = """
        ip_count_10m = count() by ip over 10m
        ip_small_spend_1h = sum(amount) by ip over 1h where amount < 50
        device_avg_1h = avg(amount) by device_id over 1h
        device_min_1h = min(amount) by device_id over 1h
        device_max_1h = max(amount) by device_id over 1h
        device_users_30m = distinct(user_id) by device_id over 30m
        ip_age = age() by ip
        device_gap = since_last() by device_id
        ip_large_share_1h = ratio(count() where amount > 100, count()) by ip over 1h
        bin_count_1h = count() by prefix(card_number_hash, 4) over 1h
        merchant_count_1h = count() by merchant_id over 1h
        """

    struct Event {
        var transaction: Transaction
        var card: String
    }

    /// A seeded stream: 400 transactions over 5 IPs, 4 devices, 12 users and cards sharing 3 four-character prefixes,
    /// a few seconds to a few minutes apart, some exactly a window's length apart.
    static func stream(seed: UInt64) -> [Event] {
        var random = TestRandom(seed: seed)
        var time: Int64 = 1_790_812_800_000
        var events: [Event] = []
        for index in 0..<400 {
            switch random.next() % 10 {
            case 0: time += 600_000  // exactly the 10-minute window after the previous one
            case 1: time += 3_600_000
            default: time += Int64(random.next() % 180_000) + 1
            }
            var transaction = Transaction(
                transactionId: "t\(index)", userId: "u\(random.next() % 12)", amount: Double(random.next() % 20_000) / 100 + 0.01,
                merchantId: "m\(random.next() % 7)", timestampMilliseconds: time)
            transaction.ip = random.next() % 8 == 0 ? nil : "10.0.0.\(random.next() % 5)"
            transaction.deviceId = "d\(random.next() % 4)"
            events.append(Event(transaction: transaction, card: ["4111", "5500", "3714"][Int(random.next() % 3)] + String(random.next() % 10_000)))
        }
        return events
    }

    /// The features of `events[index]` from the events before it, by the definitions' meaning.
    static func bruteForce(_ events: [Event], at index: Int) -> [Double] {
        let now = events[index].transaction
        let before = events[..<index].filter { $0.transaction.transactionId != now.transactionId }
        func same(_ field: KeyPath<Transaction, String?>) -> [Transaction] {
            guard let value = now[keyPath: field] else { return [] }
            return before.map(\.transaction).filter { $0[keyPath: field] == value }
        }
        func window(_ transactions: [Transaction], _ milliseconds: Int64) -> [Transaction] {
            transactions.filter { $0.timestampMilliseconds > now.timestampMilliseconds - milliseconds && $0.timestampMilliseconds <= now.timestampMilliseconds }
        }
        let ip = same(\.ip)
        let device = same(\.deviceId)
        let deviceHour = window(device, 3_600_000).map(\.amount)
        let ipHour = window(ip, 3_600_000)
        let bin = before.filter { $0.card.prefix(4) == events[index].card.prefix(4) }.map(\.transaction)
        return [
            Double(window(ip, 600_000).count),
            window(ip, 3_600_000).filter { $0.amount < 50 }.map(\.amount).reduce(0, +),
            deviceHour.isEmpty ? 0 : deviceHour.reduce(0, +) / Double(deviceHour.count),
            deviceHour.min() ?? 0,
            deviceHour.max() ?? 0,
            Double(Set(window(device, 1_800_000).map(\.userId)).count),
            now.ip == nil ? -1 : ip.first.map { Double(now.timestampMilliseconds - $0.timestampMilliseconds) } ?? -1,
            device.last.map { Double(now.timestampMilliseconds - $0.timestampMilliseconds) } ?? -1,
            ipHour.isEmpty ? 0 : Double(ipHour.filter { $0.amount > 100 }.count) / Double(ipHour.count),
            Double(window(bin, 3_600_000).count),
            Double(window(before.map(\.transaction).filter { $0.merchantId == now.merchantId }, 3_600_000).count),
        ]
    }

    static func features() throws -> EntityFeatures {
        EntityFeatures(try FeatureSet.parse(definitions), namespace: "fraud")
    }

    @Test func everyAggregationMatchesBruteForceAndDuplicatesCountOnce() async throws {
        try await withRedisServer { server in
            try await Self.checkAgainstBruteForce(try await RedisConnection.connect(server.configuration))
        }
    }

    /// Loads the library on `redis`, computes every transaction's features there (one call per entity it names) and
    /// compares them with brute force; every 7th is delivered twice.
    static func checkAgainstBruteForce(_ redis: RedisConnection) async throws {
        try await FunctionLibrary.features.load(on: redis)
        let features = try Self.features()
        let events = Self.stream(seed: 25)
        // Conditions read the built-in features, as rules do: the vector carries the amount.
        func vector(_ transaction: Transaction) -> [Double] {
            var vector = [Double](repeating: 0, count: FeatureSchema.count)
            vector[Feature.amount] = transaction.amount
            return vector
        }
        for (index, event) in events.enumerated() {
            let extra = ["card_number_hash": event.card]
            // One call per entity the transaction names: ip (when it has one), device, card prefix, merchant.
            #expect(features.commands(event.transaction, vector: vector(event.transaction), extra: extra).count == (event.transaction.ip == nil ? 3 : 4))
            let values = try await features.values(event.transaction, vector: vector(event.transaction), extra: extra, on: redis)
            let expected = Self.bruteForce(events, at: index)
            for (position, name) in features.names.enumerated() {
                #expect(abs(values[position] - expected[position]) <= 1e-9 * max(1, abs(expected[position])),
                    "transaction \(index), \(name): Redis \(values[position]), brute force \(expected[position])")
            }
            // Every 7th is delivered again at once (a redelivery, or an XADD sent twice): the same values, and
            // nothing counted twice (the next transactions still match brute force, which sees it once).
            if index % 7 == 0 {
                let deviceEvents = features.keys(.init(field: "device_id", prefix: nil), value: event.transaction.deviceId ?? "")[0]
                let before = try await redis.send(RedisCommand("ZCARD", deviceEvents)).int
                let again = try await features.values(event.transaction, vector: vector(event.transaction), extra: extra, on: redis)
                #expect(again == values, "transaction \(index) delivered twice")
                #expect(try await redis.send(RedisCommand("ZCARD", deviceEvents)).int == before)
            }
        }
    }

    @Test func stateIsBoundedByTheCapTheRetentionAndATTL() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await FunctionLibrary.features.load(on: redis)
            // A filtered count stores a payload per event (a plain count() stores none: it counts every event).
            let features = EntityFeatures(try FeatureSet.parse("c = count() by ip over 1h where amount > 0"), namespace: "fraud", cap: 50)
            var vector = [Double](repeating: 0, count: FeatureSchema.count)
            vector[Feature.amount] = 1
            var last: [Double] = []
            for index in 0..<200 {
                var transaction = Transaction(
                    transactionId: "t\(index)", userId: "u", amount: 1, merchantId: "m", timestampMilliseconds: 1_790_812_800_000 + Int64(index) * 1_000)
                transaction.ip = "10.9.9.9"
                last = try await features.values(transaction, vector: vector, on: redis)
            }
            #expect(last == [50])  // the cap: the 50 newest events are kept
            let entity = FeatureDefinition.Entity(field: "ip", prefix: nil)
            let valueId = try FeatureSet.parse("c = count() by ip over 1h where amount > 0").definitions[0].measures[0].valueId
            let keys = features.keys(entity, value: "10.9.9.9") + [features.valueKey(entity, value: "10.9.9.9", valueId: valueId)]
            #expect(try await redis.send(RedisCommand("ZCARD", keys[0])).int == 50)
            #expect(try await redis.send(RedisCommand("HLEN", keys[2])).int == 50)
            for key in [keys[0], keys[2]] {
                let ttl = try await redis.send(RedisCommand("PTTL", key)).int ?? -1
                #expect(ttl > 0 && ttl <= (2 * 3_600_000 + 86_400_000), "\(key): \(ttl)")
            }
            // The first sighting is kept only for age(): no feature of this set reads it.
            #expect(try await redis.send(RedisCommand("EXISTS", keys[1])).int == 0)
            // Two hours later, the retention removes every event outside the window.
            var late = Transaction(transactionId: "late", userId: "u", amount: 1, merchantId: "m", timestampMilliseconds: 1_790_812_800_000 + 7_200_000 + 200_000)
            late.ip = "10.9.9.9"
            #expect(try await features.values(late, vector: vector, on: redis) == [0])
            #expect(try await redis.send(RedisCommand("ZCARD", keys[0])).int == 1)
            #expect(try await redis.send(RedisCommand("HLEN", keys[2])).int == 1)
            // Every key of an entity is in one hash slot.
            let slots = keys.map { HashSlot.of(Array($0.utf8)) }
            #expect(Set(slots).count == 1)
        }
    }

    /// Events store each measure under its id, not its place: a set that adds a measure over the same entity reads the
    /// events another set recorded, a backfill of the same transactions gives them the new measure without counting
    /// them again, and a set listing the same measures in another order reads the same values.
    @Test func aNewMeasureIsBackfilledOverRecordedEventsAndNothingCountsTwice() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await FunctionLibrary.features.load(on: redis)
            let first = EntityFeatures(try FeatureSet.parse("n = count() by ip over 1h"), namespace: "fraud")
            let second = EntityFeatures(try FeatureSet.parse("n = count() by ip over 1h\ns = sum(amount) by ip over 1h where amount >= 10"), namespace: "fraud")
            let reordered = EntityFeatures(try FeatureSet.parse("s = sum(amount) by ip over 1h where amount >= 10\nn = count() by ip over 1h"), namespace: "fraud")
            func transaction(_ index: Int) -> (Transaction, [Double]) {
                var transaction = Transaction(
                    transactionId: "t\(index)", userId: "u\(index % 4)", amount: Double(5 + index), merchantId: "m",
                    timestampMilliseconds: 1_790_812_800_000 + Int64(index) * 10_000)
                transaction.ip = "10.1.1.1"
                var vector = [Double](repeating: 0, count: FeatureSchema.count)
                vector[Feature.amount] = transaction.amount
                return (transaction, vector)
            }
            // A worker computed `n` alone for 30 transactions.
            for index in 0..<30 {
                let (t, v) = transaction(index)
                #expect(try await first.values(t, vector: v, on: redis) == [Double(index)])
            }
            // The new set before its backfill: `s` sees none of them; after it, all of them, and `n` counts each once.
            let (next, nextVector) = transaction(30)
            #expect(try await second.values(next, vector: nextVector, on: redis) == [30, 0])
            for index in 0..<30 {
                let (t, v) = transaction(index)
                _ = try await second.values(t, vector: v, on: redis)
            }
            var expectedSum = 35.0  // transaction 30's amount
            for index in 0..<30 where Double(5 + index) >= 10 { expectedSum += Double(5 + index) }
            let (later, laterVector) = transaction(31)
            #expect(try await second.values(later, vector: laterVector, on: redis) == [31, expectedSum])
            #expect(try await reordered.values(later, vector: laterVector, on: redis) == [expectedSum, 31])
            #expect(try await redis.send(RedisCommand("ZCARD", second.keys(.init(field: "ip", prefix: nil), value: "10.1.1.1")[0])).int == 32)
        }
    }
}
