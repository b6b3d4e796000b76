import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// An `FCALL` command split the way Lua sees it.
struct FunctionCallParts {
    var function: String
    var keys: [String]
    var arguments: [String]

    init(_ command: RedisCommand) {
        let words = command.arguments.map { String(decoding: $0, as: UTF8.self) }
        let keyCount = Int(words[2]) ?? -1
        function = words[1]
        keys = Array(words[3..<(3 + keyCount)])
        arguments = Array(words[(3 + keyCount)...])
    }

    /// `KEYS[position]`.
    func key(_ position: Int) -> String { keys[position - 1] }
    /// `ARGV[position]`.
    func argument(_ position: Int) -> String { arguments[position - 1] }
}

/// Starts a server with every library loaded.
private func withFunctionsServer<T>(_ body: (RedisConnection) async throws -> T) async throws -> T {
    try await withRedisServer { server in
        let redis = try await RedisConnection.connect(server.configuration)
        for library in FunctionLibrary.all { try await library.load(on: redis) }
        return try await body(redis)
    }
}

@Suite("Redis Functions contracts against a real redis-server")
struct FunctionContractTests {
    let t0: Int64 = 1_790_812_800_000

    @Test func librariesRegisterExactlyTheFunctionsTheirContractsName() async throws {
        #expect(FunctionLibrary.features.name == "fraudstream")
        #expect(FunctionLibrary.results.name == "fraudstream_results")
        #expect(FunctionLibrary.lease.name == "fraudstream_lease")
        let allNames = FunctionLibrary.all.flatMap(\.functionNames)
        #expect(Set(allNames).count == allNames.count)
        try await withFunctionsServer { redis in
            let listing = try await redis.send(RedisCommand("FUNCTION", "LIST", "WITHCODE"))
            var registered: [String: (functions: [String], code: String)] = [:]
            for library in listing.array ?? [] {
                let fields = Self.pairs(library)
                let functions = (fields["functions"]?.array ?? []).compactMap { Self.pairs($0)["name"]?.string }
                registered[fields["library_name"]?.string ?? ""] = (functions, fields["library_code"]?.string ?? "")
            }
            #expect(Set(registered.keys) == Set(FunctionLibrary.all.map(\.name)))
            for library in FunctionLibrary.all {
                #expect(registered[library.name]?.functions.sorted() == library.functionNames.sorted())
                #expect(registered[library.name]?.code == library.source)
            }
        }
    }

    @Test func userFeaturesReplyDecodesForAFreshUserAndARedelivery() async throws {
        let settings = FeatureSettings()
        let call = UserFeaturesCall(settings: settings)
        let transaction = tx("t1", user: "fresh", amount: 12.5, merchant: "m1", at: t0, device: "d1", lat: 40.5, lon: -74.25)
        let command = call.command(transaction)
        let parts = FunctionCallParts(command)
        let keys = FeatureKeys(namespace: settings.namespace)
        #expect(parts.function == UserFeaturesCall.function)
        #expect(parts.keys.count == UserFeaturesCall.keyCount)
        #expect(parts.key(UserFeaturesCall.Key.profile.rawValue) == keys.profile("fresh"))
        #expect(parts.key(UserFeaturesCall.Key.window.rawValue) == keys.window("fresh"))
        #expect(parts.key(UserFeaturesCall.Key.devices.rawValue) == keys.devices("fresh"))
        #expect(parts.key(UserFeaturesCall.Key.countMin.rawValue) == keys.countMin("fresh"))
        #expect(
            Array(parts.keys[(UserFeaturesCall.Key.firstMerchantSlot.rawValue - 1)...])
                == (0..<UserFeaturesCall.merchantSlots).map { keys.merchantSlot("fresh", $0) })
        #expect(parts.arguments.count == UserFeaturesCall.Argument.firstCountMinOffset.rawValue - 1 + settings.countMinDepth)
        #expect(parts.argument(UserFeaturesCall.Argument.eventTimeMilliseconds.rawValue) == "\(t0)")
        #expect(parts.argument(UserFeaturesCall.Argument.transactionId.rawValue) == "t1")
        #expect(parts.argument(UserFeaturesCall.Argument.merchantId.rawValue) == "m1")
        #expect(parts.argument(UserFeaturesCall.Argument.latitude.rawValue) == "40.5")
        #expect(parts.argument(UserFeaturesCall.Argument.longitude.rawValue) == "-74.25")
        #expect(parts.argument(UserFeaturesCall.Argument.minuteWindowStart.rawValue) == "(" + "\(t0 - 60_000)")
        #expect(parts.argument(UserFeaturesCall.Argument.firstCountMinOffset.rawValue).hasPrefix("#"))
        #expect(parts.argument(UserFeaturesCall.Argument.deviceTrimStop.rawValue) == "\(-(UserFeaturesCall.maximumDevices + 1))")
        #expect(parts.argument(UserFeaturesCall.Argument.userStateTTLMilliseconds.rawValue) == "\(settings.userStateTTLSeconds * 1000)")
        #expect(parts.argument(UserFeaturesCall.Argument.unknownUserTTLMilliseconds.rawValue) == "\(settings.unknownUserTTLSeconds * 1000)")
        let marks = call.currentRefreshMarks()
        #expect(parts.argument(UserFeaturesCall.Argument.knownUserRefreshMark.rawValue) == marks.known)
        #expect(parts.argument(UserFeaturesCall.Argument.unknownUserRefreshMark.rawValue) == marks.unknown)
        #expect(marks.known != marks.unknown)

        try await withFunctionsServer { redis in
            let reply = try await redis.send(command)
            #expect(reply.array?.count == UserFeaturesCall.Reply.allCases.count)
            let fresh = try UserFeaturesCall.decode(reply)
            #expect(fresh.isFresh)
            #expect(fresh.isNewDevice)
            #expect(fresh.homeLatitude == nil && fresh.preferredCard == nil && fresh.segment == nil && fresh.riskScore == nil)
            #expect([fresh.transactionsLastMinute, fresh.transactionsLastHour, fresh.transactionsLastDay] == [Int](repeating: 0, count: 3))
            #expect(fresh.transactionCount == nil && fresh.amountMean == nil && fresh.lastTimestampMilliseconds == nil)
            #expect(fresh.distinctMerchants == 0)
            #expect(fresh.merchantPairCount == 0)

            // The same call again is a redelivery: nothing is folded in, the state is read as it is now.
            let redelivered = try UserFeaturesCall.decode(try await redis.send(command))
            #expect(!redelivered.isFresh)
            #expect(!redelivered.isNewDevice)
            #expect(redelivered.transactionsLastMinute == 0 && redelivered.transactionsLastHour == 0)
            #expect(redelivered.transactionCount == 1)
            #expect(redelivered.amountMean == 12.5)
            #expect(redelivered.amountM2 == 0)
            #expect(redelivered.lastTimestampMilliseconds == Double(t0))
            #expect(redelivered.locationTimestampMilliseconds == Double(t0))
            #expect(redelivered.lastLatitude == 40.5 && redelivered.lastLongitude == -74.25)
            #expect(redelivered.distinctMerchants == 1)
            #expect(redelivered.merchantPairCount == 1)

            let profile = UserProfile(
                userId: "known", homeLatitude: 51.5, homeLongitude: -0.125, preferredCard: "VISA", segment: "premium",
                riskScore: 0.25, accountCreatedMilliseconds: t0 - 86_400_000, usualCategories: [], typicalSpend: 30,
                devices: [], ips: [])
            try await FeatureStore(namespace: settings.namespace).writeProfiles([profile], on: redis)
            let known = try UserFeaturesCall.decode(try await redis.send(call.command(tx("k1", user: "known", at: t0))))
            #expect(known.homeLatitude == 51.5 && known.homeLongitude == -0.125)
            #expect(known.preferredCard == "VISA" && known.segment == "premium")
            #expect(known.riskScore == 0.25)
            #expect(known.accountCreatedMilliseconds == Double(t0 - 86_400_000))
            #expect(!known.isNewDevice)
        }
    }

    @Test func runningStateOfContractVersion5IsPackedByTheNextTransaction() async throws {
        let settings = FeatureSettings()
        let call = UserFeaturesCall(settings: settings)
        let keys = FeatureKeys(namespace: settings.namespace)
        try await withFunctionsServer { redis in
            // A profile hash as version 5 left it: the running state in text fields.
            let legacy: [String: String] = [
                "n": "3", "mean": "10.5", "m2": "8.25", "last_ts": "\(t0 - 1_000)", "loc_ts": "\(t0 - 2_000)",
                "last_lat": "40.5", "last_lon": "-74.25", "hll_bucket": "\((t0 - 1_000) / UserFeaturesCall.merchantBucketMilliseconds)",
                "hll_mask": "1",
            ]
            _ = try await redis.send(RedisCommand("HSET", arguments: [keys.profile("old")] + legacy.flatMap { [$0.key, $0.value] }))
            let first = try UserFeaturesCall.decode(try await redis.send(call.command(tx("o1", user: "old", amount: 20, at: t0))))
            #expect(first.isFresh)
            #expect(first.transactionCount == 3 && first.amountMean == 10.5 && first.amountM2 == 8.25)
            #expect(first.lastTimestampMilliseconds == Double(t0 - 1_000) && first.locationTimestampMilliseconds == Double(t0 - 2_000))
            #expect(first.lastLatitude == 40.5 && first.lastLongitude == -74.25)

            let fields = try await redis.send(RedisCommand("HKEYS", keys.profile("old"))).array?.compactMap(\.string) ?? []
            #expect(Set(fields) == ["state", "ttl_mark"], "the text fields are replaced by the packed one: \(fields)")
            let state = try #require(try await redis.send(RedisCommand("HGET", keys.profile("old"), "state")).bytes)
            let packed = try #require(UserFeaturesCall.PackedState(state))
            #expect(packed.transactionCount == 4)
            #expect(packed.amountMean == 10.5 + (20 - 10.5) / 4)
            #expect(packed.lastTimestampMilliseconds == Double(t0))
            // No location on this transaction: the previous located one is kept.
            #expect(packed.locationTimestampMilliseconds == Double(t0 - 2_000) && packed.lastLatitude == 40.5)
            // The packed field is small enough for the hash to keep its compact encoding.
            #expect(try await redis.send(RedisCommand("OBJECT", "ENCODING", keys.profile("old"))).string == "listpack")
        }
    }

    @Test func deviceEventsCountsEarlierEventsInTheWindowOnce() async throws {
        let call = DeviceEventsCall(settings: FeatureSettings(clickSpamWindowSeconds: 5))
        let first = call.command(device: "bot", tx("e1", user: "a", at: t0, device: "bot"))
        let second = call.command(device: "bot", tx("e2", user: "b", at: t0 + 1_000, device: "bot"))
        let parts = FunctionCallParts(second)
        #expect(parts.function == DeviceEventsCall.function)
        #expect(parts.keys == [FeatureKeys(namespace: "fraud").deviceEvents("bot")])
        #expect(parts.arguments.count == DeviceEventsCall.Argument.allCases.count)
        #expect(parts.argument(DeviceEventsCall.Argument.transactionId.rawValue) == "e2")
        #expect(parts.argument(DeviceEventsCall.Argument.windowStart.rawValue) == "(" + "\(t0 + 1_000 - 5_000)")
        #expect(parts.argument(DeviceEventsCall.Argument.keyTTLMilliseconds.rawValue) == "\(2 * call.retentionMilliseconds)")
        try await withFunctionsServer { redis in
            var counts: [Int] = []
            for command in [first, second, second] { counts.append(try DeviceEventsCall.decode(try await redis.send(command))) }
            #expect(counts == [0, 1, 1])
            let ttl = try await redis.send(RedisCommand("PTTL", parts.keys[0])).int ?? -1
            #expect(ttl > 0)
        }
    }

    /// Add, check and remove address the same 4-bit counters: `#<index>` is counter index × 4 bits.
    @Test func bloomAddCheckAndRemoveAgreeOnTheCounterLayout() async throws {
        let shape = BloomFilterShape(capacity: 100, falsePositiveRate: 0.001)
        let counters = FeatureKeys(namespace: "fraud").ipBlocklistCounters
        let offsets = shape.offsets("6.6.6.6").map { "#\($0)" }
        let add = BloomAddCall(counters: counters, shape: shape).command("6.6.6.6")
        #expect(FunctionCallParts(add).function == BloomAddCall.function)
        let members = FeatureKeys(namespace: "fraud").ipBlocklistMembers
        #expect(FunctionCallParts(add).keys == [counters, members])
        #expect(HashSlot.of(members) == HashSlot.of(counters))
        #expect(FunctionCallParts(add).arguments == ["1", "6.6.6.6"] + offsets)
        #expect(FunctionCallParts(add).argument(BloomAddCall.Argument.source.rawValue) == "1")
        #expect(FunctionCallParts(add).argument(BloomAddCall.Argument.item.rawValue) == "6.6.6.6")
        #expect(FunctionCallParts(add).argument(BloomAddCall.Argument.firstOffset.rawValue) == offsets[0])
        let remove = BloomRemoveCall(counters: counters, shape: shape)
        #expect(FunctionCallParts(remove.command("6.6.6.6")).function == BloomRemoveCall.function)
        #expect(FunctionCallParts(remove.command("6.6.6.6")).keys == [counters, members])
        #expect(FunctionCallParts(remove.command("6.6.6.6")).arguments == ["3", "6.6.6.6"] + offsets)
        var check = BloomCheckCall(counters: counters, shape: shape)
        #expect(check.append("6.6.6.6") == 0)
        #expect(check.append("1.2.3.4") == 1)
        let parts = FunctionCallParts(check.command)
        #expect(parts.function == BloomCheckCall.function)
        #expect(parts.keys == [counters])
        #expect(parts.argument(BloomCheckCall.Argument.hashesPerItem.rawValue) == "\(shape.hashes)")
        #expect(parts.argument(BloomCheckCall.Argument.firstItemOffsets.rawValue) == offsets[0])
        #expect(parts.arguments.count == BloomCheckCall.Argument.firstItemOffsets.rawValue - 1 + 2 * shape.hashes)
        try await withFunctionsServer { redis in
            // Each counter read at its absolute bit offset: the function wrote u4 counters at index × 4.
            func counterValues() async throws -> [Int] {
                let get = shape.offsets("6.6.6.6").flatMap { ["GET", "u4", "\($0 * BloomFilterShape.counterBits)"] }
                let reply = try await redis.send(RedisCommand("BITFIELD", arguments: ([counters] + get).map { $0 as any RedisArgument }))
                return (reply.array ?? []).compactMap(\.int)
            }
            #expect(try BloomAddCall.decode(try await redis.send(add)) == true)
            #expect(try await counterValues() == Array(repeating: 1, count: shape.hashes))
            // Adding a listed item again changes nothing; the world's claim on it is recorded without a count.
            #expect(try BloomAddCall.decode(try await redis.send(add)) == false)
            let worldAdd = BloomAddCall(counters: counters, shape: shape).command("6.6.6.6", source: .world)
            #expect(try BloomAddCall.decode(try await redis.send(worldAdd)) == false)
            #expect(try await counterValues() == Array(repeating: 1, count: shape.hashes))
            #expect(try await redis.send(RedisCommand("HGET", members, "6.6.6.6")).string == "3")
            let hits = try BloomCheckCall.decode(try await redis.send(check.command), items: check.itemCount)
            #expect(hits == [true, false])
            // Flagged no-writes, so the read-only variant accepts it too.
            let readOnly = RedisCommand("FCALL_RO", arguments: check.command.arguments.dropFirst().map { $0 as any RedisArgument })
            let readOnlyHits = try BloomCheckCall.decode(try await redis.send(readOnly), items: check.itemCount)
            #expect(readOnlyHits == [true, false])

            #expect(try BloomRemoveCall.decode(try await redis.send(remove.command("1.2.3.4"))) == false)
            #expect(try BloomRemoveCall.decode(try await redis.send(remove.command("6.6.6.6"))) == true)
            #expect(try await counterValues() == Array(repeating: 0, count: shape.hashes))
            #expect(try BloomCheckCall.decode(try await redis.send(check.command), items: check.itemCount) == [false, false])

            // The audited removal of several items: one entry naming exactly the ones removed, in the same call.
            let audit = AuditLog(namespace: "fraud")
            let stream = audit.stream(tag: counters)
            #expect(HashSlot.of(stream) == HashSlot.of(counters))
            let unlist = BloomUnlistCall(counters: counters, shape: shape)
            let entry = AuditLog.Entry(actor: "key:ops", action: "blocklist.remove", target: "", change: "unlisted", requestId: "req-1")
            let parts = FunctionCallParts(unlist.command(["6.6.6.6"], entry: entry, audit: audit))
            #expect(parts.function == BloomUnlistCall.function && parts.keys == [counters, members, stream])
            #expect(parts.argument(BloomUnlistCall.Argument.hashesPerItem.rawValue) == "\(shape.hashes)")
            #expect(parts.argument(BloomUnlistCall.Argument.actor.rawValue) == "key:ops")
            #expect(parts.argument(BloomUnlistCall.Argument.requestId.rawValue) == "req-1")
            #expect(Array(parts.arguments.dropFirst(BloomUnlistCall.Argument.firstItem.rawValue - 1)) == ["6.6.6.6"] + offsets)
            let many = (1...12).map { "10.0.0.\($0)" }
            for ip in ["6.6.6.6"] + many { _ = try await redis.send(BloomAddCall(counters: counters, shape: shape).command(ip)) }
            let first = try await redis.send(unlist.command(["6.6.6.6", "1.2.3.4"], entry: entry, audit: audit))
            #expect(try BloomUnlistCall.decode(first, count: 2) == [true, false])
            let again = try await redis.send(unlist.command(["6.6.6.6", "1.2.3.4"], entry: entry, audit: audit))
            #expect(try BloomUnlistCall.decode(again, count: 2) == [false, false])
            let bulk = try await redis.send(unlist.command(many, entry: entry, audit: audit))
            #expect(try BloomUnlistCall.decode(bulk, count: many.count) == Array(repeating: true, count: many.count))
            // Everything listed is unlisted again: every counter is back to 0.
            #expect(try await counterValues() == Array(repeating: 0, count: shape.hashes))
            #expect(try await redis.send(RedisCommand("HLEN", members)).int == 0)
            let entries = try await audit.list(on: redis)
            #expect(entries.map(\.target) == ["6.6.6.6", many.prefix(10).joined(separator: ",") + ",… (12 IPs)"], "\(entries)")
            #expect(entries.allSatisfy { $0.actor == "key:ops" && $0.action == "blocklist.remove" && $0.requestId == "req-1" && $0.timeMilliseconds > 0 })
        }
    }

    /// A worker paused past its lease while another took its name over writes and acknowledges nothing.
    @Test func writeBatchIsFencedOffByALeaseUnderAnotherToken() async throws {
        var configuration = WorkerConfiguration()
        configuration.consumerName = "fenced"
        try await withFunctionsServer { redis in
            try await redis.send(RedisCommand(
                "XGROUP", "CREATE", configuration.transactionStream, configuration.consumerGroup, "0", "MKSTREAM"))
            try await redis.send(RedisCommand("XADD", configuration.transactionStream, "*", "transaction_id", "a"))
            let read = try await redis.send(XReadGroup(
                group: configuration.consumerGroup, consumer: configuration.consumerName, count: 10, blockMilliseconds: nil,
                streams: [(configuration.transactionStream, ">")]))
            let id = try #require(read.first?.entries.first?.id)
            var batch = Batch(
                sequence: 1,
                items: [BatchItem(sourceId: id, transaction: Transaction(
                    transactionId: "a", userId: "u1", amount: 1, merchantId: "m", timestampMilliseconds: t0))],
                deadLetters: [], readAt: .now, dispatchedAt: .now)
            batch.decisions = [ScoredDecision(score: 0.1, isFraud: false, decision: "approve", reasons: "", modelVersion: 1)]
            let leaseKey = ConsumerLease.key(streams: configuration.streams, consumer: configuration.consumerName)

            try await redis.send(RedisCommand("SET", leaseKey, "someone-else", "PX", 60_000))
            do {
                _ = try WriteBatchCall.decode(
                    try await redis.send(WriteBatchCall(configuration: configuration, leaseToken: "mine").command(batch)), results: 1)
                Issue.record("a write under another worker's lease went through")
            } catch {
                #expect((error as? RedisError)?.serverErrorPrefix == "LEASELOST", "\(error)")
            }
            #expect(try await redis.send(RedisCommand("XLEN", configuration.resultsStream)).int == 0)
            #expect(try await redis.send(XPendingSummary(stream: configuration.transactionStream, group: configuration.consumerGroup)).count == 1)

            try await redis.send(RedisCommand("SET", leaseKey, "mine", "PX", 60_000))
            let written = try WriteBatchCall.decode(
                try await redis.send(WriteBatchCall(configuration: configuration, leaseToken: "mine").command(batch)), results: 1)
            #expect(written.written == 1)
        }
    }

    @Test func writeBatchWritesTheNamedFieldsOfTwoResultsAndOneDeadLetter() async throws {
        var configuration = WorkerConfiguration()
        configuration.consumerName = "contract-worker"
        configuration.resultTTLSeconds = 3_600  // result keys are off by default; the key's contract is checked when on
        configuration.statsTTLSeconds = 900
        try await withFunctionsServer { redis in
            try await redis.send(RedisCommand(
                "XGROUP", "CREATE", configuration.transactionStream, configuration.consumerGroup, "0", "MKSTREAM"))
            for id in ["a", "b", "c"] {
                try await redis.send(RedisCommand("XADD", configuration.transactionStream, "*", "transaction_id", id))
            }
            let read = try await redis.send(XReadGroup(
                group: configuration.consumerGroup, consumer: configuration.consumerName, count: 10, blockMilliseconds: nil,
                streams: [(configuration.transactionStream, ">")]))
            let ids = (read.first?.entries ?? []).map(\.id)
            try #require(ids.count == 3)

            var batch = Batch(
                sequence: 1,
                items: [
                    BatchItem(sourceId: ids[0], transaction: Transaction(
                        transactionId: "a", userId: "u1", amount: 10.5, merchantId: "m", timestampMilliseconds: t0,
                        runId: "run-1", isFraud: true)),
                    BatchItem(sourceId: ids[1], transaction: Transaction(
                        transactionId: "b", userId: "u2", amount: 3, merchantId: "m", timestampMilliseconds: t0, runId: "run-1")),
                ],
                deadLetters: [DeadLetter(sourceId: ids[2], reason: "missing amount", runId: "run-1", fields: [("transaction_id", "c")])],
                readAt: .now, dispatchedAt: .now)
            batch.decisions = [
                ScoredDecision(score: 0.91, isFraud: true, decision: "decline", reasons: "amount", modelVersion: 3),
                ScoredDecision(score: 0.1, isFraud: false, decision: "approve", reasons: "", modelVersion: 3),
            ]
            batch.timings = StageTimings(queueMicroseconds: 1_500, featuresMicroseconds: 250, scoringMicroseconds: 40)

            let command = WriteBatchCall(configuration: configuration).command(batch)
            let parts = FunctionCallParts(command)
            #expect(parts.keys.count == WriteBatchCall.keyCount)
            #expect(parts.key(WriteBatchCall.Key.inputStream.rawValue) == configuration.transactionStream)
            #expect(parts.key(WriteBatchCall.Key.resultsStream.rawValue) == configuration.resultsStream)
            #expect(parts.key(WriteBatchCall.Key.deadLetterStream.rawValue) == configuration.deadLetterStream)
            #expect(parts.argument(WriteBatchCall.Argument.valuesPerResult.rawValue) == "\(WriteBatchCall.valuesPerResult)")
            #expect(parts.argument(WriteBatchCall.Argument.resultTTLSeconds.rawValue) == "3600")
            #expect(parts.argument(WriteBatchCall.Argument.statsTTLSeconds.rawValue) == "900")
            #expect(parts.argument(WriteBatchCall.Argument.lowestId.rawValue) == ids[0])
            #expect(parts.argument(WriteBatchCall.Argument.highestId.rawValue) == ids[2])
            let first = WriteBatchCall.Argument.firstRecord.rawValue
            #expect(parts.arguments.count == first - 1 + 2 * WriteBatchCall.valuesPerResult + WriteBatchCall.deadLetterHeaderValues + 2)
            #expect(parts.argument(first + WriteBatchCall.valuesPerResult + WriteBatchCall.ResultValue.transactionId.rawValue) == "b")
            #expect(parts.argument(first + 2 * WriteBatchCall.valuesPerResult + WriteBatchCall.DeadLetterValue.reason.rawValue) == "missing amount")

            let reply = try await redis.send(command)
            #expect(reply.array?.count == WriteBatchCall.Reply.firstLatency.rawValue - 1 + 2)
            let written = try WriteBatchCall.decode(reply, results: 2)
            #expect(written.written == 2)
            #expect(written.deadLettered == 1)
            #expect(written.latenciesMicroseconds.count == 2)
            #expect(written.latenciesMicroseconds.allSatisfy { $0 >= 0 })

            let entries = try await redis.send(XRange(stream: configuration.resultsStream))
            try #require(entries.count == 2)
            let declined = Dictionary(entries[0].fields, uniquingKeysWith: { $1 })
            #expect(declined["source_id"] == ids[0])
            #expect(declined["transaction_id"] == "a")
            #expect(declined["user_id"] == "u1")
            #expect(declined["run_id"] == "run-1")
            #expect(declined["score"] == "0.910000")
            #expect(declined["is_fraud"] == "1")
            #expect(declined["decision"] == "decline")
            #expect(declined["reasons"] == "amount")
            #expect(declined["model_version"] == "3")
            #expect(declined["worker_id"] == configuration.workerId)
            #expect(declined["queue_ms"] == "1.500")
            #expect(declined["features_ms"] == "0.250")
            #expect(declined["scoring_ms"] == "0.040")
            #expect(declined["amount"] == "10.5")
            #expect(declined["latency_ms"] != nil)
            #expect(Dictionary(entries[1].fields, uniquingKeysWith: { $1 })["decision"] == "approve")

            let dead = try await redis.send(XRange(stream: configuration.deadLetterStream))
            try #require(dead.count == 1)
            let deadFields = Dictionary(dead[0].fields, uniquingKeysWith: { $1 })
            #expect(deadFields["source_id"] == ids[2])
            #expect(deadFields["reason"] == "missing amount")
            #expect(deadFields["transaction_id"] == "c")

            let run = try await redis.send(RedisCommand("HGETALL", RunStatisticsKeys(namespace: configuration.namespace).run("run-1")))
            let counters = run.stringPairs ?? [:]
            #expect(counters["processed"] == "2")
            #expect(counters["dead_letters"] == "1")
            #expect(counters["tp"] == "1")
            #expect(counters["labelled"] == "1")
            let resultKey = try await redis.send(RedisCommand("GET", "\(configuration.namespace):result:a")).string ?? ""
            #expect(resultKey.contains("\"decision\":\"decline\""))
            let resultTTL = try await redis.send(RedisCommand("TTL", "\(configuration.namespace):result:a")).int ?? -3
            #expect((1...3_600).contains(resultTTL))
            // Every statistics key of the run expires STATS_TTL after the batch.
            let statisticsKeys = RunStatisticsKeys(namespace: configuration.namespace)
            for key in [statisticsKeys.run("run-1"), statisticsKeys.worker(run: "run-1", worker: configuration.workerId),
                        statisticsKeys.workers(run: "run-1")] {
                let ttl = try await redis.send(RedisCommand("TTL", key)).int ?? -3
                #expect((1...900).contains(ttl), "\(key) TTL \(ttl)")
            }
            let pending = try await redis.send(RedisCommand("XPENDING", configuration.transactionStream, configuration.consumerGroup))
            #expect(pending.array?.first?.int == 0)

            // A retry finds nothing pending for this consumer: nothing written, every latency -1.
            let retried = try WriteBatchCall.decode(try await redis.send(command), results: 2)
            #expect(retried == WriteBatchReply(written: 0, deadLettered: 0, latenciesMicroseconds: [-1, -1]))
        }
    }

    @Test func mergeLatencyAddsAFlushOnceAndNamesItsKeys() async throws {
        let keys = RunStatisticsKeys(namespace: "fraud")
        let call = MergeLatencyCall(keys: keys, workerId: "w1", settings: "batch=1", statsTTLSeconds: 600)
        var histograms = StageHistograms()
        histograms.record("end_to_end", microseconds: 1_200)
        histograms.record("queue", microseconds: 100)
        let command = call.command(run: "r1", token: "flush-1", histograms: histograms)
        let parts = FunctionCallParts(command)
        #expect(parts.function == MergeLatencyCall.function)
        #expect(parts.key(MergeLatencyCall.Key.workerLatency.rawValue) == keys.workerLatency(run: "r1", worker: "w1"))
        #expect(parts.key(MergeLatencyCall.Key.worker.rawValue) == keys.worker(run: "r1", worker: "w1"))
        #expect(parts.key(MergeLatencyCall.Key.runWorkers.rawValue) == keys.workers(run: "r1"))
        #expect(parts.argument(MergeLatencyCall.Argument.flushToken.rawValue) == "flush-1")
        #expect(parts.argument(MergeLatencyCall.Argument.statsTTLSeconds.rawValue) == "600")
        #expect(parts.arguments.count == MergeLatencyCall.Argument.firstStage.rawValue - 1 + 2 * 2)
        try await withFunctionsServer { redis in
            var applied: [Bool] = []
            for command in [command, command, call.command(run: "r1", token: "flush-2", histograms: histograms)] {
                applied.append(try MergeLatencyCall.decode(try await redis.send(command)))
            }
            #expect(applied == [true, false, true])
            let stored = try await redis.send(RedisCommand("HGET", keys.workerLatency(run: "r1", worker: "w1"), "end_to_end"))
            #expect(LatencyHistogram(encoded: stored.string ?? "").count == 2)
            let worker = try await redis.send(RedisCommand("HGETALL", keys.worker(run: "r1", worker: "w1"))).stringPairs ?? [:]
            #expect(worker["last_flush"] == "flush-2")
            #expect(worker["settings"] == "batch=1")
            let member = try await redis.send(RedisCommand("SISMEMBER", keys.workers(run: "r1"), "w1"))
            #expect(member.int == 1)
            // Every key the flush wrote expires STATS_TTL after it.
            for key in [keys.workerLatency(run: "r1", worker: "w1"), keys.worker(run: "r1", worker: "w1"), keys.workers(run: "r1")] {
                let ttl = try await redis.send(RedisCommand("TTL", key)).int ?? -3
                #expect((1...600).contains(ttl), "\(key) TTL \(ttl)")
            }
        }
    }

    @Test func leaseClaimAndReleaseAreCompareAndSetOnTheToken() async throws {
        let streams = StreamNames()
        // A minute: a loaded machine must not see the lease expire between the steps below.
        let mine = ConsumerLease(streams: streams, consumer: "w1", ttlMilliseconds: 60_000, token: "mine")
        let theirs = ConsumerLease(streams: streams, consumer: "w1", ttlMilliseconds: 60_000, token: "theirs")
        #expect(mine.key == "fraud:lease:{fraud:transactions}:inference_workers:w1")
        var partitioned = streams
        partitioned.transactions = "fraud:transactions:{p1}"
        #expect(ConsumerLease.key(streams: partitioned, consumer: "w1") == "fraud:lease:{p1}:fraud:transactions:{p1}:inference_workers:w1")
        let parts = FunctionCallParts(mine.claimCall.command)
        #expect(parts.function == LeaseClaimCall.function)
        #expect(parts.keys == [mine.key])
        #expect(parts.argument(LeaseClaimCall.Argument.token.rawValue) == "mine")
        #expect(parts.argument(LeaseClaimCall.Argument.ttlMilliseconds.rawValue) == "60000")
        try await withFunctionsServer { redis in
            func claim(_ lease: ConsumerLease) async throws -> LeaseClaimCall.Outcome {
                try LeaseClaimCall.decode(try await redis.send(lease.claimCall.command))
            }
            #expect(try await claim(mine) == .taken)
            #expect(try await claim(mine) == .extended)
            guard case .heldByAnother(let remaining?) = try await claim(theirs) else {
                Issue.record("expected the lease to be held with a TTL")
                return
            }
            #expect((1...60_000).contains(remaining))
            #expect(try await theirs.release(on: redis) == false)
            #expect(try await redis.send(RedisCommand("GET", mine.key)).string == "mine")
            #expect(try await mine.release(on: redis) == true)
            #expect(try await mine.release(on: redis) == false)
            #expect(try await claim(theirs) == .taken)
            try await redis.send(RedisCommand("PERSIST", theirs.key))
            #expect(try await claim(mine) == .heldByAnother(remainingMilliseconds: nil))
        }
    }

    /// A flat `name, value, …` array as a dictionary of replies.
    static func pairs(_ value: RESPValue) -> [String: RESPValue] {
        value.fieldMap ?? [:]
    }
}
