import RedisClient
import RedisHarness
import Testing

@Suite("Typed stream commands against a real redis-server")
struct StreamCommandTests {
    @Test func groupReadPendingClaimAndInfoDecodeTyped() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            var ids: [String] = []
            for index in 0..<5 {
                ids.append(try await redis.send(XAdd(stream: "s", fields: [("n", "\(index)"), ("n", "dup")])))
            }
            let capped = try await redis.send(XAdd(stream: "capped", approximateMaximumLength: 1000, fields: [("a", "1")]))
            #expect(StreamID(capped) != nil)
            try await redis.send(RedisCommand("XGROUP", "CREATE", "s", "g", "0"))
            let read = try await redis.send(
                XReadGroup(group: "g", consumer: "a", count: 3, blockMilliseconds: nil, streams: [("s", ">")]))
            #expect(read.count == 1)
            #expect(read[0].stream == "s")
            #expect(read[0].entries.map(\.id) == Array(ids.prefix(3)))
            #expect(read[0].entries[1].fields.map(\.0) == ["n", "n"])  // repeated names kept in order
            #expect(read[0].entries[1].value(of: "n") == "1")
            let empty = try await redis.send(
                XReadGroup(group: "g", consumer: "a", count: 3, blockMilliseconds: 10, streams: [("s", "0")]))
            #expect(empty.first?.entries.count == 3)  // own history with id 0

            let summary = try await redis.send(XPendingSummary(stream: "s", group: "g"))
            #expect(summary.count == 3)
            #expect(summary.smallestId == ids[0])
            #expect(summary.largestId == ids[2])
            #expect(summary.consumers == ["a": 3])

            let range = try await redis.send(XPendingRange(stream: "s", group: "g", start: "(" + ids[0], count: 10, consumer: "a"))
            #expect(range.map(\.id) == [ids[1], ids[2]])
            #expect(range.allSatisfy { $0.consumer == "a" && $0.deliveries == 2 })

            let claimed = try await redis.send(XClaim(stream: "s", group: "g", consumer: "b", minimumIdleMilliseconds: 0, ids: [ids[0]]))
            #expect(claimed.map(\.id) == [ids[0]])
            try await redis.send(RedisCommand("XDEL", "s", ids[1]))
            let auto = try await redis.send(
                XAutoClaim(stream: "s", group: "g", consumer: "c", minimumIdleMilliseconds: 0, start: "0-0", count: 10))
            #expect(auto.entries.map(\.id) == [ids[0], ids[2]])
            #expect(auto.deletedIds == [ids[1]])
            #expect(auto.nextStart == "0-0")

            let groups = try await redis.send(XInfoGroups(stream: "s"))
            #expect(groups.count == 1)
            #expect(groups[0].name == "g")
            #expect(groups[0].pending == 2)
            #expect(groups[0].lastDeliveredId == ids[2])
            #expect(groups[0].consumers == 3)

            let consumers = try await redis.send(XInfoConsumers(stream: "s", group: "g"))
            #expect(consumers.map(\.name) == ["a", "b", "c"])
            #expect(consumers.map(\.pending) == [0, 0, 2])
            #expect(consumers.allSatisfy { $0.idleMilliseconds >= 0 })
            await #expect(throws: RedisError.self) { try await redis.send(XInfoConsumers(stream: "s", group: "nosuch")) }

            let newest = try await redis.send(XRange(stream: "s", count: 2, reverse: true))
            #expect(newest.map(\.id) == [ids[4], ids[3]])
            let after = try await redis.send(XRange(stream: "s", start: "(" + ids[2]))
            #expect(after.map(\.id) == [ids[3], ids[4]])
            await #expect(throws: RedisError.self) { try await redis.send(XPendingSummary(stream: "s", group: "nosuch")) }
        }
    }

    @Test func streamIdsCompareNumericallyNotAsText() {
        #expect(StreamID("9-0")! < StreamID("10-0")!)
        #expect(StreamID("10-2")! < StreamID("10-10")!)
        #expect(StreamID("12") == StreamID(milliseconds: 12, sequence: 0))
        #expect(StreamID("x-1") == nil)
        #expect(StreamID.bounds(of: ["10-10", "9-5", "10-2", "junk"])! == ("9-5", "10-10"))
        #expect(StreamID.bounds(of: []) == nil)
    }
}
