import Foundation
import RedisClient
import RedisHarness
import Testing

/// Records the order in which concurrent things happened.
actor EventLog {
    private(set) var entries: [String] = []
    func append(_ entry: String) { entries.append(entry) }
}

/// Properties of the thread model that a heavily loaded machine could mask: `make test` runs this
/// suite on its own, after the parallel run, so other suites' CPU-bound tests cannot starve the pool.
@Suite("Isolated timing: blocking I/O stays off the cooperative pool", .serialized)
struct IsolatedTimingTests {
    @Test func blockedConnectionsDoNotDelayOtherAsyncWork() async throws {
        try await withRedisServer { server in
            let setup = try await RedisConnection.connect(server.configuration)
            try await setup.send(RedisCommand("XGROUP", "CREATE", "idle", "g", "$", "MKSTREAM"))
            // More blocked connections than the cooperative pool has threads (2 on this machine).
            let blockedCount = max(4, ProcessInfo.processInfo.activeProcessorCount * 2)
            let connections = try await withThrowingTaskGroup(of: RedisConnection.self) { group in
                for _ in 0..<blockedCount {
                    group.addTask { try await RedisConnection.connect(server.configuration) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Assert an ordering, not a duration (other suites load the machine): the unrelated work
            // must finish while every XREADGROUP is still blocked. Were the blocking calls on the
            // cooperative pool, they would hold all its threads and the work could only run after them.
            let events = EventLog()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, connection) in connections.enumerated() {
                    group.addTask {
                        let reply = try await connection.send(
                            RedisCommand("XREADGROUP", "GROUP", "g", "c\(index)", "BLOCK", 5000, "STREAMS", "idle", ">"),
                            timeoutMilliseconds: 10_000)
                        #expect(reply == .null)
                        await events.append("blocked call returned")
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                let sum = await withTaskGroup(of: Int.self) { work in
                    for value in 0..<200 {
                        work.addTask {
                            await Task.yield()
                            return value
                        }
                    }
                    return await work.reduce(0, +)
                }
                try await Task.sleep(for: .milliseconds(10))
                #expect(sum == 199 * 200 / 2)
                await events.append("unrelated work done")
                try await group.waitForAll()
            }
            let order = await events.entries
            #expect(order.first == "unrelated work done")
            #expect(order.count == blockedCount + 1)
        }
    }

    @Test func cancellationInterruptsBlockingCall() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await redis.send(RedisCommand("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"))
            let clock = ContinuousClock()
            let start = clock.now
            let blocked = Task {
                try await redis.send(
                    RedisCommand("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">"),
                    timeoutMilliseconds: 60_000)
            }
            try await Task.sleep(for: .milliseconds(150))
            blocked.cancel()
            let result = await blocked.result
            #expect(clock.now - start < .seconds(5))
            switch result {
            case .success: Issue.record("expected cancellation")
            case .failure(let error): #expect((error as? RedisError)?.code == .cancelled)
            }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }
}
