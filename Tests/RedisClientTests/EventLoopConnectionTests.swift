import Foundation
import NIOCore
import NIOPosix
import RedisClient
import RedisHarness
import Testing

/// A ``RedisConnection`` whose actor and socket live on a NIO event loop, against a real redis-server.
@Suite("RedisConnection on a NIO event loop against a real redis-server")
struct EventLoopConnectionTests {
    /// Each test has its own loop (a test's large pipeline must not hold up another test's calls), and generous
    /// timeouts: the machine may be busy.
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)

    static func patient(_ configuration: RedisConfiguration) -> RedisConfiguration {
        var configuration = configuration
        configuration.commandTimeoutMilliseconds = 60_000
        configuration.connectTimeoutMilliseconds = 30_000
        return configuration
    }

    @Test func repliesPipelinesAndLargeValuesRoundTrip() async throws {
        try await withRedisServer { server in
            let loop = Self.group.next()
            let redis = try await RedisConnection.connect(Self.patient(server.configuration), eventLoop: loop)
            #expect(redis.isOnEventLoop)
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(try await redis.send(RedisCommand("INCRBY", "n", 41)) == .integer(41))
            #expect(try await redis.send(RedisCommand("GET", "missing")) == .null)
            let replies = try await redis.pipeline([RedisCommand("NOSUCHCOMMAND"), RedisCommand("PING")])
            #expect(replies[0].errorMessage?.hasPrefix("ERR") == true && replies[1] == .simpleString("PONG"))
            // A value of 3 MB and a pipeline of 20,000 commands: replies arrive over many reads.
            let big = [UInt8](repeating: 0x7a, count: 3_000_000) + [0, 13, 10]
            try await redis.send(RedisCommand("SET", "big", big))
            #expect(try await redis.send(RedisCommand("GET", "big")) == .bulkString(big))
            let many = try await redis.pipeline((0..<20_000).map { RedisCommand("INCR", "counter:\($0 % 7)") })
            #expect(many.count == 20_000 && many.last == .integer(Int64((0..<20_000).filter { $0 % 7 == 19_999 % 7 }.count)))
            // Pipelines from several tasks at once each get their own replies.
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        let key = "task:\(task)"
                        let got = try await redis.pipeline([RedisCommand("SET", key, task), RedisCommand("GET", key)])
                        return got[1].string == "\(task)"
                    }
                }
                for try await ok in group { #expect(ok) }
            }
        }
    }

    @Test func aKilledServerIsReconnectedAndATimeoutDropsTheSocket() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(Self.patient(server.configuration), eventLoop: Self.group.next())
            try await redis.send(RedisCommand("SET", "before", "1"))
            await server.kill()
            try await server.restart()
            // The loop saw the socket close: the next call opens a new one (or, if it had not seen it yet, fails once
            // naming the command as unconfirmed).
            var reply: RESPValue?
            for _ in 0..<2 where reply == nil {
                do { reply = try await redis.send(RedisCommand("PING")) } catch let error as RedisError {
                    #expect(error.code == .connectionLost && error.unconfirmedCommands == 0..<1)
                }
            }
            #expect(reply == .simpleString("PONG"))
            #expect(await redis.reconnectCount == 1)
            // A reply later than the timeout: the call fails with .timeout, and the next one works on a new socket.
            do {
                try await redis.send(RedisCommand("BLPOP", "nothing", 1), timeoutMilliseconds: 100)
                Issue.record("expected a timeout")
            } catch let error as RedisError {
                #expect(error.code == .timeout)
            }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    /// Calls racing a lost socket open one new socket between them, not one each: the server sees one client.
    @Test func concurrentCallsAfterARestartShareOneNewSocket() async throws {
        try await withRedisServer { server in
            var configuration = Self.patient(server.configuration)
            configuration.clientName = "loop-race"
            let redis = try await RedisConnection.connect(configuration, eventLoop: Self.group.next())
            await server.kill()
            try await server.restart()
            for _ in 0..<3 {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<16 { group.addTask { _ = try? await redis.send(RedisCommand("PING")) } }
                }
            }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            // A socket dropped after a timeout (a busy machine) may take Redis a moment to reap: poll, with a deadline.
            let observer = try await RedisConnection.connect(server.configuration)
            var clients = ""
            let deadline = ContinuousClock.now + .seconds(60)
            repeat {
                clients = try await observer.send(RedisCommand("CLIENT", "LIST")).string ?? ""
                if clients.split(separator: "\n").filter({ $0.contains("name=loop-race") }).count == 1 { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            #expect(clients.split(separator: "\n").filter { $0.contains("name=loop-race") }.count == 1, "\(clients)")
        }
    }

    @Test func cancellingAWaitEndsItAndAPasswordIsAsked() async throws {
        try await withRedisServer(password: "s3cret") { server in
            var configuration = Self.patient(server.configuration)
            configuration.password = nil
            do {
                _ = try await RedisConnection.connect(configuration, eventLoop: Self.group.next())
                Issue.record("expected NOAUTH")
            } catch let error as RedisError {
                #expect(error.code == .authenticationFailed, "\(error)")
            }
            let redis = try await RedisConnection.connect(Self.patient(server.configuration), eventLoop: Self.group.next())
            let waiting = Task { try await redis.send(RedisCommand("BLPOP", "nothing", 0), timeoutMilliseconds: 120_000) }
            try await Task.sleep(for: .milliseconds(200))
            waiting.cancel()
            do {
                _ = try await waiting.value
                Issue.record("expected the cancelled BLPOP to throw")
            } catch let error as RedisError {
                #expect(error.code == .cancelled, "\(error)")
            }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    /// A socket bound to a free port on 127.0.0.1 and not listening, and its port.
    static func boundPort() -> (Int32, Int)? {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard holder >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        var named = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &named) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(holder, $0, &length) == 0 }
        }
        guard bound && found else {
            close(holder)
            return nil
        }
        return (holder, Int(UInt16(bigEndian: named.sin_port)))
    }

    @Test func aRefusedConnectionSaysWhy() async throws {
        // A port this test holds bound and never listens on: refused, and no other test's server can take it meanwhile
        // (a port merely found free was, once, by the time the test connected).
        guard let bound = Self.boundPort() else {
            Issue.record("could not bind a port")
            return
        }
        let holder = bound.0
        let port = bound.1
        defer { close(holder) }
        do {
            _ = try await RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: port), eventLoop: Self.group.next())
            Issue.record("expected a refused connection")
        } catch let error as RedisError {
            #expect(error.code == .connectionRefused, "\(error)")
        }
    }
}
