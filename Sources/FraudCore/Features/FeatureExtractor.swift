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
    public private(set) var blocklistShape: BloomFilterShape?
    /// The features fraud teams defined (the promoted feature set), or nil for the built-in ones only.
    public let entities: EntityFeatures?
    /// The feature set version (0: the built-in features only).
    public let featureSetVersion: Int
    /// Every feature's name in vector order: ``FeatureSchema/names``, then the feature set's.
    public let names: [String]

    /// The per-user call, bound to these settings.
    let userFeatures: UserFeaturesCall
    /// The per-device call, bound to these settings.
    let deviceEvents: DeviceEventsCall

    /// Creates an extractor; with `features`, vectors carry the set's features after the built-in ones. A feature the
    /// built-in kernels compute is taken from them unless `kernelServes` is false (then `fs_entity_fold` computes it too:
    /// for tests and benchmarks that compare the two).
    public init(
        settings: FeatureSettings, blocklistShape: BloomFilterShape?, features: FeatureSet? = nil, featureSetVersion: Int = 0,
        kernelServes: Bool = true
    ) {
        self.settings = settings
        self.keys = FeatureKeys(namespace: settings.namespace)
        self.blocklistShape = blocklistShape
        let kernel = kernelServes ? BuiltInFeatures.Kernel(settings: settings) : nil
        let entities = features.flatMap { $0.definitions.isEmpty ? nil : EntityFeatures($0, namespace: settings.namespace, kernel: kernel) }
        self.entities = entities
        self.featureSetVersion = entities == nil ? 0 : featureSetVersion
        self.names = FeatureSchema.names + (entities?.names ?? [])
        self.userFeatures = UserFeaturesCall(settings: settings)
        self.deviceEvents = DeviceEventsCall(settings: settings)
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
        /// Items in the blocklist call.
        var blocklistItems: Int
        /// For each transaction, its entity calls (``EntityFeatures``) and where the first sits in ``commands``; -1
        /// when they wait for the built-in vector (a second round trip, ``FeatureExtractor/completeEntities``).
        var entityCalls: [[(group: Int, command: RedisCommand)]] = []
        var entityStart: [Int] = []
        /// Whether the entity calls need a second round trip.
        public var entitiesFollow: Bool { !entityCalls.isEmpty && entityStart.first == -1 }
    }

    /// The same feature set as `other` (the same definitions in the same order).
    public func sameFeatures(as other: FeatureExtractor) -> Bool {
        featureSetVersion == other.featureSetVersion && names == other.names
    }

    /// A copy with another blocklist shape.
    public func with(blocklistShape shape: BloomFilterShape?) -> FeatureExtractor {
        var copy = self
        copy.blocklistShape = shape
        return copy
    }

    /// The pipeline for a batch: one round trip computes (and folds in) every transaction's features.
    public func plan(_ batch: [Transaction]) -> Plan {
        var commands: [RedisCommand] = []
        commands.reserveCapacity(batch.count * 2 + 1)
        let marks = userFeatures.currentRefreshMarks()
        for transaction in batch { commands.append(userFeatures.command(transaction, marks: marks)) }
        var deviceSlots = [Int](repeating: -1, count: batch.count)
        for (index, transaction) in batch.enumerated() {
            guard let device = transaction.deviceId, !device.isEmpty else { continue }
            deviceSlots[index] = commands.count
            commands.append(deviceEvents.command(device: device, transaction))
        }
        var blocklistSlots = [Int](repeating: -1, count: batch.count)
        var blocklistCommand = -1
        var blocklistItems = 0
        if let shape = blocklistShape {
            var check = BloomCheckCall(counters: keys.ipBlocklistCounters, shape: shape)
            for (index, transaction) in batch.enumerated() {
                guard let ip = transaction.ip, !ip.isEmpty else { continue }
                blocklistSlots[index] = check.append(ip)
            }
            if check.itemCount > 0 {
                blocklistCommand = commands.count
                blocklistItems = check.itemCount
                commands.append(check.command)
            }
        }
        var plan = Plan(
            commands: commands, deviceSlots: deviceSlots, blocklistSlots: blocklistSlots, blocklistCommand: blocklistCommand,
            blocklistItems: blocklistItems)
        if let entities, !entities.groups.isEmpty {
            // Measures that read only the transaction ride in this round trip; one that reads state-derived built-in
            // features waits for them.
            let follows = entities.readsState
            plan.entityStart = [Int](repeating: -1, count: batch.count)
            plan.entityCalls = batch.enumerated().map { index, transaction in
                let vector = entities.readsBuiltIns && !follows ? transactionOnlyVector(transaction) : []
                let calls = follows ? [] : entities.commands(transaction, vector: vector, extra: transaction.extra)
                if !follows {
                    plan.entityStart[index] = plan.commands.count
                    plan.commands.append(contentsOf: calls.map(\.command))
                }
                return calls
            }
        }
        return plan
    }

    /// With a feature set whose measures read state-derived built-in features: its calls, built from `vectors`, in
    /// one more pipelined round trip for the batch, their values written into `vectors` after the built-in ones.
    public func completeEntities(_ vectors: inout [[Double]], _ batch: [Transaction], plan: Plan, on connection: RedisConnection) async throws(RedisError) {
        guard let entities, plan.entitiesFollow else { return }
        let calls = zip(batch, vectors).map { transaction, vector in entities.commands(transaction, vector: vector, extra: transaction.extra) }
        let replies = try await connection.pipeline(calls.flatMap { $0.map(\.command) })
        var position = 0
        for index in vectors.indices {
            let values = try entities.decode(calls[index], replies: replies[position..<(position + calls[index].count)])
            position += calls[index].count
            vectors[index].replaceSubrange(FeatureSchema.count..., with: values)
            entities.fillKernelServed(&vectors[index])
        }
    }

    /// Builds the feature vectors of `batch` from the replies to `plan(batch).commands`.
    public func vectors(_ batch: [Transaction], plan: Plan, replies: [RESPValue]) throws(RedisError) -> [[Double]] {
        guard replies.count == plan.commands.count else {
            throw RedisError(code: .unexpectedReply, message: "feature pipeline: \(replies.count) replies for \(plan.commands.count) commands")
        }
        var blocklistHits: [Bool] = []
        if plan.blocklistCommand >= 0 {
            blocklistHits = try BloomCheckCall.decode(replies[plan.blocklistCommand], items: plan.blocklistItems)
        }
        var result: [[Double]] = []
        result.reserveCapacity(batch.count)
        for (index, transaction) in batch.enumerated() {
            let user = try UserFeaturesCall.decode(replies[index])
            var deviceEvents = 0
            if plan.deviceSlots[index] >= 0 {
                deviceEvents = try DeviceEventsCall.decode(replies[plan.deviceSlots[index]])
            }
            let slot = plan.blocklistSlots[index]
            let blocklisted = slot >= 0 && blocklistHits[slot]
            var values = vector(transaction, user: user, deviceEvents: deviceEvents, blocklisted: blocklisted)
            if let entities {
                let start = plan.entityStart.isEmpty ? -1 : plan.entityStart[index]
                if start >= 0 {
                    values += try entities.decode(plan.entityCalls[index], replies: replies[start..<(start + plan.entityCalls[index].count)])
                } else {
                    values += entities.defaults
                }
                entities.fillKernelServed(&values)
            }
            result.append(values)
        }
        return result
    }

    /// The vector of one transaction from the state Redis returned.
    func vector(_ transaction: Transaction, user: UserFeaturesReply, deviceEvents: Int, blocklisted: Bool) -> [Double] {
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

        let knownUser = user.homeLatitude != nil || user.preferredCard != nil || user.segment != nil
        values[Feature.unknownUser] = knownUser ? 0 : 1
        if let homeLatitude = user.homeLatitude, let homeLongitude = user.homeLongitude, let latitude = transaction.latitude,
            let longitude = transaction.longitude
        {
            values[Feature.distanceFromHomeKilometres] = Geo.distanceKilometres(
                latitude1: homeLatitude, longitude1: homeLongitude, latitude2: latitude, longitude2: longitude)
        } else {
            values[Feature.distanceFromHomeKilometres] = -1
        }
        if let preferred = user.preferredCard, let card = transaction.cardProvider {
            values[Feature.preferredCardMatch] = preferred.caseInsensitiveCompare(card) == .orderedSame ? 1 : 0
        } else {
            values[Feature.preferredCardMatch] = knownUser ? 0 : -1
        }
        values[Feature.segmentCode] = FeatureSchema.segmentCode(user.segment)
        values[Feature.riskScore] = user.riskScore ?? -1
        if let created = user.accountCreatedMilliseconds {
            values[Feature.accountAgeDays] = (Double(ts) - created) / 86_400_000
        } else {
            values[Feature.accountAgeDays] = -1
        }

        values[Feature.transactionsLastMinute] = Double(user.transactionsLastMinute)
        values[Feature.transactionsLastHour] = Double(user.transactionsLastHour)
        values[Feature.transactionsLastDay] = Double(user.transactionsLastDay)

        let count = user.transactionCount ?? 0
        let mean = user.amountMean ?? 0
        let m2 = user.amountM2 ?? 0
        values[Feature.userTransactionCount] = count
        let deviation = count > 1 ? (max(0, m2) / (count - 1)).squareRoot() : 0
        if count >= 2 && deviation > 1e-9 {
            values[Feature.amountZScore] = min(100, max(-100, (amount - mean) / deviation))
        }
        values[Feature.amountToMeanRatio] = count >= 1 && mean > 0 ? min(1_000, amount / mean) : 1

        if let lastTimestamp = user.lastTimestampMilliseconds {
            values[Feature.secondsSinceLast] = max(0, (Double(ts) - lastTimestamp) / 1000)
        } else {
            values[Feature.secondsSinceLast] = -1
        }
        values[Feature.travelSpeedKilometresPerHour] = -1
        if let locationTimestamp = user.locationTimestampMilliseconds, let lastLatitude = user.lastLatitude,
            let lastLongitude = user.lastLongitude,
            let latitude = transaction.latitude, let longitude = transaction.longitude
        {
            let kilometres = Geo.distanceKilometres(
                latitude1: lastLatitude, longitude1: lastLongitude, latitude2: latitude, longitude2: longitude)
            let hours = max(1, (Double(ts) - locationTimestamp) / 1000) / 3600
            values[Feature.travelSpeedKilometresPerHour] = min(50_000, kilometres / hours)
        }
        values[Feature.distinctMerchantsLastHour] = Double(user.distinctMerchants)
        values[Feature.newDevice] = user.isNewDevice ? 1 : 0
        values[Feature.merchantPairCount] = Double(max(0, user.merchantPairCount))
        values[Feature.ipBlocklisted] = blocklisted ? 1 : 0
        values[Feature.deviceEventsInWindow] = Double(deviceEvents)
        values[Feature.clickSpam] = transaction.deviceId != nil && deviceEvents + 1 >= settings.clickSpamThreshold ? 1 : 0
        return values
    }

    /// The vector of a transaction when no state could be read (Redis too slow or unreachable): what the
    /// transaction itself says, with every stateful feature at its value for a user never seen.
    public func transactionOnlyVector(_ transaction: Transaction) -> [Double] {
        vector(transaction, user: .unknown, deviceEvents: 0, blocklisted: false)
    }

    /// ``transactionOnlyVector(_:)`` with the feature set's features at their values for entities never seen (what a
    /// degraded answer is scored and explained with).
    public func degradedVector(_ transaction: Transaction) -> [Double] {
        var vector = transactionOnlyVector(transaction) + (entities?.defaults ?? [])
        entities?.fillKernelServed(&vector)
        return vector
    }

    /// Computes features for a batch in one round trip on `connection`.
    public func fetch(_ batch: [Transaction], on connection: RedisConnection) async throws(RedisError) -> [[Double]] {
        if batch.isEmpty { return [] }
        let plan = plan(batch)
        let replies = try await connection.pipeline(plan.commands)
        var result = try vectors(batch, plan: plan, replies: replies)
        try await completeEntities(&result, batch, plan: plan, on: connection)
        return result
    }

    /// Each transaction's decision claim (``DecisionClaim``) and its features, in one round trip: the claims go first
    /// in the pipeline, so a duplicate's claim reply says so before its (idempotent) feature calls run.
    public func fetch(
        _ batch: [Transaction], claims: [DecisionClaim], ttlMilliseconds: Int, on connection: RedisConnection
    ) async throws(RedisError) -> (vectors: [[Double]], statuses: [DecisionClaim.Status]) {
        if batch.isEmpty { return ([], []) }
        let plan = plan(batch)
        let claimCommands = zip(batch, claims).map { transaction, claim in
            claim.command(key: keys.decision(user: transaction.userId, transaction: transaction.transactionId), ttlMilliseconds: ttlMilliseconds)
        }
        let replies = try await connection.pipeline(claimCommands + plan.commands)
        var statuses: [DecisionClaim.Status] = []
        statuses.reserveCapacity(batch.count)
        for (claim, reply) in zip(claims, replies) { statuses.append(try claim.status(reply)) }
        var result = try vectors(batch, plan: plan, replies: Array(replies[batch.count...]))
        try await completeEntities(&result, batch, plan: plan, on: connection)
        return (result, statuses)
    }
}
