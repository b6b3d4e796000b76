import Foundation
import RedisClient

/// Features, defined once: the Redis commands a batch needs and the vectors built from their replies.
///
/// Training replay and the worker's feature fetcher both go through this type and the same Redis
/// Functions, so a training row holds exactly what serving would have computed before that transaction.
public struct FeatureExtractor: Sendable {
    /// Settings shared by training and serving.
    public let settings: FeatureSettings
    /// Key names.
    public let keys: FeatureKeys
    /// The IP blocklist filter's shape, or `nil` when no blocklist is loaded.
    public let blocklistShape: BloomFilterShape?

    static let merchantBucketMilliseconds: Int64 = 600_000
    static let merchantSlots = 6
    /// Key suffixes of the merchant HyperLogLog slots (`merchants:0` … `merchants:5`).
    static let merchantSlotSuffixes = (0..<merchantSlots).map { "merchants:\($0)" }
    static let deviceRetentionMilliseconds = 60_000

    /// Creates an extractor.
    public init(settings: FeatureSettings, blocklistShape: BloomFilterShape?) {
        self.settings = settings
        self.keys = FeatureKeys(namespace: settings.namespace)
        self.blocklistShape = blocklistShape
    }

    /// Where each transaction's replies sit in a batch's pipeline.
    public struct Plan: Sendable {
        /// The commands, in order: one user call per transaction, device calls, one blocklist check.
        public var commands: [RedisCommand]
        /// For each transaction, the index of its device call, or -1.
        var deviceSlots: [Int]
        /// For each transaction, its index in the blocklist reply, or -1.
        var blocklistSlots: [Int]
        /// Index of the blocklist call, or -1.
        var blocklistCommand: Int
    }

    private var deviceRetentionMilliseconds: Int {
        max(Self.deviceRetentionMilliseconds, settings.clickSpamWindowSeconds * 1000)
    }

    /// The pipeline for a batch: one round trip computes (and folds in) every transaction's features.
    public func plan(_ batch: [Transaction]) -> Plan {
        var commands: [RedisCommand] = []
        commands.reserveCapacity(batch.count * 2 + 1)
        for transaction in batch { commands.append(userCommand(transaction)) }
        var deviceSlots = [Int](repeating: -1, count: batch.count)
        for (index, transaction) in batch.enumerated() {
            guard let device = transaction.deviceId, !device.isEmpty else { continue }
            deviceSlots[index] = commands.count
            let ts = transaction.timestampMilliseconds
            var command = RedisCommand("FCALL", "fs_device_events", 1)
            command.append(keys.deviceEvents(device))
            command.append(ts)
            command.append(transaction.transactionId)
            command.append(marker: "(", ts - Int64(settings.clickSpamWindowSeconds * 1000))
            command.append(ts - Int64(deviceRetentionMilliseconds))
            command.append(2 * deviceRetentionMilliseconds)
            commands.append(command)
        }
        var blocklistSlots = [Int](repeating: -1, count: batch.count)
        var blocklistCommand = -1
        if let shape = blocklistShape {
            var check = RedisCommand("FCALL", "fs_bloom_check", 1, keys.ipBlocklist, shape.hashes)
            var offsets: [Int] = []
            var next = 0
            for (index, transaction) in batch.enumerated() {
                guard let ip = transaction.ip, !ip.isEmpty else { continue }
                offsets.removeAll(keepingCapacity: true)
                shape.appendOffsets(ip, to: &offsets)
                for offset in offsets { check.append(offset) }
                blocklistSlots[index] = next
                next += 1
            }
            if next > 0 {
                blocklistCommand = commands.count
                commands.append(check)
            }
        }
        return Plan(commands: commands, deviceSlots: deviceSlots, blocklistSlots: blocklistSlots, blocklistCommand: blocklistCommand)
    }

    private func userCommand(_ transaction: Transaction) -> RedisCommand {
        let user = transaction.userId
        let ts = transaction.timestampMilliseconds
        var command = RedisCommand("FCALL", "fs_user_features")
        command.append(4 + Self.merchantSlots)
        let prefix = keys.userPrefix(user)
        command.append(prefix: prefix, "profile")
        command.append(prefix: prefix, "window")
        command.append(prefix: prefix, "devices")
        command.append(prefix: prefix, "cms")
        for slot in Self.merchantSlotSuffixes {
            command.append(prefix: prefix, slot)
        }
        command.append(ts)
        command.append(transaction.transactionId)
        command.append(transaction.amount)
        command.append(transaction.merchantId)
        command.append(transaction.deviceId ?? "")
        if let latitude = transaction.latitude, let longitude = transaction.longitude {
            command.append(latitude)
            command.append(longitude)
        } else {
            command.append("")
            command.append("")
        }
        command.append(ts / Self.merchantBucketMilliseconds)
        command.append(marker: "(", ts - 60_000)
        command.append(marker: "(", ts - 3_600_000)
        command.append(marker: "(", ts - 86_400_000)
        command.append(ts - 86_400_000)
        let width = UInt64(settings.countMinWidth)
        for row in 0..<settings.countMinDepth {
            let column = Int(StableHash.hash(transaction.merchantId, seed: UInt64(row) &+ 0xC0C0) % width)
            command.append(marker: "#", Int64(row * settings.countMinWidth + column))
        }
        return command
    }

    /// Builds the feature vectors of `batch` from the replies to `plan(batch).commands`.
    public func vectors(_ batch: [Transaction], plan: Plan, replies: [RESPValue]) throws(RedisError) -> [[Double]] {
        guard replies.count == plan.commands.count else {
            throw RedisError(code: .unexpectedReply, message: "feature pipeline: \(replies.count) replies for \(plan.commands.count) commands")
        }
        var blocklistHits: [RESPValue] = []
        if plan.blocklistCommand >= 0 {
            blocklistHits = try replies[plan.blocklistCommand].get().array ?? []
        }
        var result: [[Double]] = []
        result.reserveCapacity(batch.count)
        for (index, transaction) in batch.enumerated() {
            guard let fields = try replies[index].get().array, fields.count >= 19 else {
                throw RedisError(code: .unexpectedReply, message: "fs_user_features returned \(replies[index])")
            }
            var deviceEvents = 0
            if plan.deviceSlots[index] >= 0 {
                deviceEvents = try replies[plan.deviceSlots[index]].get().int ?? 0
            }
            var blocklisted = false
            let slot = plan.blocklistSlots[index]
            if slot >= 0 && slot < blocklistHits.count { blocklisted = blocklistHits[slot].int == 1 }
            result.append(vector(transaction, userState: fields, deviceEvents: deviceEvents, blocklisted: blocklisted))
        }
        return result
    }

    /// The vector of one transaction from the state Redis returned.
    func vector(_ transaction: Transaction, userState fields: [RESPValue], deviceEvents: Int, blocklisted: Bool) -> [Double] {
        func number(_ index: Int) -> Double? {
            switch fields[index] {
            case .integer(let value): return Double(value)
            case .bulkString(let bytes) where !bytes.isEmpty: return Double(String(decoding: bytes, as: UTF8.self))
            default: return nil
            }
        }
        func text(_ index: Int) -> String? {
            guard case .bulkString(let bytes) = fields[index], !bytes.isEmpty else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
        var values = [Double](repeating: 0, count: FeatureSchema.count)
        let ts = transaction.timestampMilliseconds
        let amount = transaction.amount
        values[Feature.amount] = amount
        values[Feature.logAmount] = log1p(max(0, amount))
        let hour = (ts / 3_600_000) % 24
        values[Feature.hourOfDay] = Double(hour < 0 ? hour + 24 : hour)
        let day = (ts / 86_400_000 + 4) % 7  // 1970-01-01 was a Thursday; 0 = Sunday
        values[Feature.dayOfWeek] = Double(day < 0 ? day + 7 : day)
        values[Feature.categoryCode] = FeatureSchema.categoryCode(transaction.merchantCategory)

        let homeLatitude = number(0)
        let homeLongitude = number(1)
        let knownUser = homeLatitude != nil || text(2) != nil || text(3) != nil
        values[Feature.unknownUser] = knownUser ? 0 : 1
        if let homeLatitude, let homeLongitude, let latitude = transaction.latitude, let longitude = transaction.longitude {
            values[Feature.distanceFromHomeKilometres] = Geo.distanceKilometres(
                latitude1: homeLatitude, longitude1: homeLongitude, latitude2: latitude, longitude2: longitude)
        } else {
            values[Feature.distanceFromHomeKilometres] = -1
        }
        if let preferred = text(2), let card = transaction.cardProvider {
            values[Feature.preferredCardMatch] = preferred.caseInsensitiveCompare(card) == .orderedSame ? 1 : 0
        } else {
            values[Feature.preferredCardMatch] = knownUser ? 0 : -1
        }
        values[Feature.segmentCode] = FeatureSchema.segmentCode(text(3))
        values[Feature.riskScore] = number(4) ?? -1
        if let created = number(5) {
            values[Feature.accountAgeDays] = (Double(ts) - created) / 86_400_000
        } else {
            values[Feature.accountAgeDays] = -1
        }

        values[Feature.transactionsLastMinute] = number(6) ?? 0
        values[Feature.transactionsLastHour] = number(7) ?? 0
        values[Feature.transactionsLastDay] = number(8) ?? 0

        let count = number(9) ?? 0
        let mean = number(10) ?? 0
        let m2 = number(11) ?? 0
        values[Feature.userTransactionCount] = count
        let deviation = count > 1 ? (max(0, m2) / (count - 1)).squareRoot() : 0
        if count >= 2 && deviation > 1e-9 {
            values[Feature.amountZScore] = min(100, max(-100, (amount - mean) / deviation))
        }
        values[Feature.amountToMeanRatio] = count >= 1 && mean > 0 ? min(1_000, amount / mean) : 1

        if let lastTimestamp = number(12) {
            values[Feature.secondsSinceLast] = max(0, (Double(ts) - lastTimestamp) / 1000)
        } else {
            values[Feature.secondsSinceLast] = -1
        }
        values[Feature.travelSpeedKilometresPerHour] = -1
        if let locationTimestamp = number(13), let lastLatitude = number(14), let lastLongitude = number(15),
            let latitude = transaction.latitude, let longitude = transaction.longitude
        {
            let kilometres = Geo.distanceKilometres(
                latitude1: lastLatitude, longitude1: lastLongitude, latitude2: latitude, longitude2: longitude)
            let hours = max(1, (Double(ts) - locationTimestamp) / 1000) / 3600
            values[Feature.travelSpeedKilometresPerHour] = min(50_000, kilometres / hours)
        }
        values[Feature.distinctMerchantsLastHour] = number(16) ?? 0
        values[Feature.newDevice] = number(17) ?? 0
        values[Feature.merchantPairCount] = max(0, number(18) ?? 0)
        values[Feature.ipBlocklisted] = blocklisted ? 1 : 0
        values[Feature.deviceEventsInWindow] = Double(deviceEvents)
        values[Feature.clickSpam] = transaction.deviceId != nil && deviceEvents + 1 >= settings.clickSpamThreshold ? 1 : 0
        return values
    }

    /// Computes features for a batch in one round trip on `connection`.
    public func fetch(_ batch: [Transaction], on connection: RedisConnection) async throws(RedisError) -> [[Double]] {
        if batch.isEmpty { return [] }
        let plan = plan(batch)
        let replies = try await connection.pipeline(plan.commands)
        return try vectors(batch, plan: plan, replies: replies)
    }
}
