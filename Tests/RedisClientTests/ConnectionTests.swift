import Logging
import Foundation
import RedisClient
import RedisHarness
import Testing

/// Integration tests: each starts its own real redis-server on a free port.
@Suite("RedisConnection against a real redis-server")
struct ConnectionTests {
    @Test func decodesEveryReplyType() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(try await redis.send(RedisCommand("INCRBY", "n", 41)) == .integer(41))
            try await redis.send(RedisCommand("SET", "s", "hello"))
            #expect(try await redis.send(RedisCommand("GET", "s")) == .bulkString(Array("hello".utf8)))
            #expect(try await redis.send(RedisCommand("GET", "missing")) == .null)
            try await redis.send(RedisCommand("SET", "empty", ""))
            #expect(try await redis.send(RedisCommand("GET", "empty")) == .bulkString([]))
            try await redis.send(RedisCommand("RPUSH", "l", "a", "b"))
            #expect(try await redis.send(RedisCommand("LRANGE", "l", 0, -1)) == .array([.bulkString([97]), .bulkString([98])]))
            #expect(try await redis.send(RedisCommand("LRANGE", "nothing", 0, -1)) == .array([]))
            // Nested arrays and a nil array: XADD, then XREAD reply [[stream, [[id, [f, v]]]]]; BLPOP timeout is a nil array.
            let id = try await redis.send(RedisCommand("XADD", "st", "*", "f", "v")).string!
            let read = try await redis.send(RedisCommand("XREAD", "STREAMS", "st", "0"))
            #expect(read == .array([.array([.bulkString(Array("st".utf8)), .array([.array([
                .bulkString(Array(id.utf8)), .array([.bulkString([102]), .bulkString([118])]),
            ])])])]))
            #expect(try await redis.send(RedisCommand("XREAD", "COUNT", 1, "STREAMS", "st", "$")) == .null)
            let replies = try await redis.pipeline([RedisCommand("NOSUCHCOMMAND"), RedisCommand("PING")])
            #expect(replies[0].isError)
            #expect(replies[0].errorMessage?.hasPrefix("ERR") == true)
            #expect(replies[1] == .simpleString("PONG"))
        }
    }

    @Test func keysAndValuesAreBinarySafe() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let key: [UInt8] = [0x6b, 0x00, 0xff, 0x0d, 0x0a, 0x00]
            var big = [UInt8](repeating: 0, count: 1 << 20)
            for index in big.indices { big[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7) }
            var set = RedisCommand("SET")
            set.append(bytes: key)
            set.append(bytes: big)
            try await redis.send(set)
            var get = RedisCommand("GET")
            get.append(bytes: key)
            #expect(try await redis.send(get).bytes == big)
            var strlen = RedisCommand("STRLEN")
            strlen.append(bytes: key)
            #expect(try await redis.send(strlen).int == 1 << 20)
            #expect(try await redis.send(RedisCommand("EXISTS", "k")).int == 0)
        }
    }

    @Test func pipelinesTenThousandCommandsInOrder() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let sets = (0..<10_000).map { RedisCommand("SET", "key:\($0)", "value-\($0)") }
            let setReplies = try await redis.pipeline(sets)
            #expect(setReplies.count == 10_000)
            #expect(setReplies.allSatisfy { $0 == .simpleString("OK") })
            let gets = (0..<10_000).map { RedisCommand("GET", "key:\($0)") }
            let values = try await redis.pipeline(gets)
            #expect(values.enumerated().allSatisfy { $0.element.string == "value-\($0.offset)" })
            #expect(try await redis.send(RedisCommand("DBSIZE")).int == 10_000)
        }
    }

    @Test func serverErrorIsTypedAndConnectionStaysUsable() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await redis.send(RedisCommand("SET", "str", "x"))
            await #expect(throws: RedisError.self) { try await redis.send(RedisCommand("LPUSH", "str", "y")) }
            do {
                try await redis.send(RedisCommand("LPUSH", "str", "y"))
                Issue.record("expected WRONGTYPE")
            } catch let error as RedisError {
                #expect(error.code == .serverError)
                #expect(error.serverErrorPrefix == "WRONGTYPE")
            }
            #expect(try await redis.send(RedisCommand("GET", "str")).string == "x")
            #expect(await redis.reconnectCount == 0)
        }
    }

    @Test func authenticatesWithPasswordAndRejectsWrongOne() async throws {
        try await withRedisServer(password: "s3cret") { server in
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))

            var wrong = server.configuration
            wrong.password = "wrong"
            await #expect(throws: RedisError.self) { try await RedisConnection.connect(wrong) }
            do {
                _ = try await RedisConnection.connect(wrong)
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed)
            }

            var none = server.configuration
            none.password = nil
            let anonymous = try await RedisConnection.connect(none)
            do {
                try await anonymous.send(RedisCommand("GET", "x"))
                Issue.record("expected NOAUTH")
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed)
                #expect(error.message.contains("requires a password"))
            }
            // With a client name the first command after connecting (CLIENT SETNAME) meets NOAUTH.
            none.clientName = "named"
            do {
                _ = try await RedisConnection.connect(none)
                Issue.record("expected NOAUTH at connect")
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed)
                #expect(error.message == "\(none) requires a password: set REDIS_PASSWORD or put it in REDIS_URL (redis://:password@host:port)")
            }
        }
    }

    @Test func authenticatesAsACLUserAndSelectsDatabase() async throws {
        try await withRedisServer(password: "admin") { server in
            let admin = try await RedisConnection.connect(server.configuration)
            try await admin.send(RedisCommand("ACL", "SETUSER", "fraud", "on", ">userpw", "~*", "+@all"))
            let url = "redis://fraud:userpw@127.0.0.1:\(server.port)/2"
            let user = try await RedisConnection.connect(try RedisConfiguration(url: url))
            #expect(try await user.send(RedisCommand("ACL", "WHOAMI")).string == "fraud")
            try await user.send(RedisCommand("SET", "in-db-2", "1"))
            #expect(try await admin.send(RedisCommand("EXISTS", "in-db-2")).int == 0)
            try await admin.send(RedisCommand("SELECT", 2))
            #expect(try await admin.send(RedisCommand("EXISTS", "in-db-2")).int == 1)
            let bad = try RedisConfiguration(url: "redis://fraud:nope@127.0.0.1:\(server.port)")
            do {
                _ = try await RedisConnection.connect(bad)
                Issue.record("expected WRONGPASS")
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed)
            }
        }
    }

    @Test func connectsOverUnixSocket() async throws {
        try await withRedisServer(unixSocket: true) { server in
            let redis = try await RedisConnection.connect(try RedisConfiguration(url: "unix://\(server.unixSocketPath)"))
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    @Test func reconnectsAfterServerRestart() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            try await redis.send(RedisCommand("SET", "before", "1"))
            await server.kill()
            try await server.restart()
            // The first call finds the old socket dead and says the command may not have run.
            do {
                try await redis.send(RedisCommand("SET", "after", "1"))
                Issue.record("expected the first call on the dead socket to fail")
            } catch let error as RedisError {
                #expect(error.code == .connectionLost)
                #expect(error.unconfirmedCommands == 0..<1)
            }
            // The next call re-establishes the connection.
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(await redis.reconnectCount == 1)
            #expect(try await redis.send(RedisCommand("EXISTS", "before")).int == 0)  // no persistence
        }
    }

    @Test func reportsRefusedConnectionAfterBackoff() async throws {
        // Port 1 is privileged: nothing listens there, and no parallel test can take it.
        let redis = RedisConnection(configuration: RedisConfiguration(host: "127.0.0.1", port: 1))
        let policy = RetryPolicy(maximumAttempts: 3, initialBackoffMilliseconds: 50)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await policy.run("PING", logger: Logger(label: "test")) { () async throws(RedisError) in
                try await redis.send(RedisCommand("PING"))
            }
            Issue.record("expected connection refused")
        } catch {
            #expect(error.code == .connectionRefused)
            #expect(error.message.contains("cannot connect"))
        }
        // Three attempts with backoff: at least the first two waits' lower bounds (25 + 50 ms).
        #expect(clock.now - start >= .milliseconds(70))
    }

    @Test func connectTimesOutAgainstUnansweredPort() async throws {
        let blackhole = try Blackhole()
        defer { blackhole.close() }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: blackhole.port)
        configuration.connectTimeoutMilliseconds = 300
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await RedisConnection.connect(configuration)
            Issue.record("expected a connect timeout")
        } catch {
            #expect(error.code == .timeout)
        }
        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(250))
        // An outcome, not a speed: without the timeout the connect would wait forever. The bound is generous
        // because a machine whose cores another job holds can delay the connection thread by seconds.
        #expect(elapsed < .seconds(60))
    }

    @Test func runsOnItsOwnThread() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(!redis.isOnOwnThread)
            let onOwnThread = await redis.runOnConnectionThreadProbe()
            #expect(onOwnThread)
        }
    }

    @Test func commandTimeoutSurfacesAsTimeout() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            do {
                try await redis.send(RedisCommand("BLPOP", "nothing", 5), timeoutMilliseconds: 200)
                Issue.record("expected timeout")
            } catch let error as RedisError {
                #expect(error.code == .timeout)
                #expect(error.unconfirmedCommands == 0..<1)
            }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    @Test func loadsAndCallsFunctionLibrary() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let library = """
                #!lua name=testlib
                redis.register_function('add_to', function(keys, args)
                  return redis.call('INCRBY', keys[1], args[1])
                end)
                """
            #expect(try await redis.loadFunctionLibrary(library) == "testlib")
            #expect(try await redis.loadFunctionLibrary(library) == "testlib")  // REPLACE
            #expect(try await redis.callFunction("add_to", keys: ["counter"], arguments: [5]) == .integer(5))
            #expect(try await redis.callFunction("add_to", keys: ["counter"], arguments: [2]) == .integer(7))
            do {
                try await redis.callFunction("missing_fn", keys: [])
                Issue.record("expected an error")
            } catch let error as RedisError {
                #expect(error.code == .serverError)
            }
        }
    }
}

extension RedisConnection {
    /// Reports whether code isolated to the connection runs on its dedicated thread.
    func runOnConnectionThreadProbe() -> Bool { isOnOwnThread }
}
