import Foundation
import RedisClient
import RedisHarness
import Testing

/// `rediss://` against Debian's redis-server with `--tls-port`, with a CA, a server and a client certificate the
/// test makes with openssl: the bytes cross the in-process TLS bridge (hiredis on one end, swift-nio-ssl on the other).
@Suite("RedisConnection over TLS against a real redis-server")
struct TLSTests {
    /// Starts a TLS-only server with fresh certificates and removes them afterwards.
    private func withTLSServer<T>(
        requireClientCertificates: Bool = false, serverName: String? = nil, _ body: (RedisServer, TestCertificates) async throws -> T
    ) async throws -> T {
        let certificates = try await TestCertificates.make(serverName: serverName)
        defer { certificates.remove() }
        let server = try await RedisServer.start(tls: certificates, requireClientCertificates: requireClientCertificates)
        do {
            let result = try await body(server, certificates)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    @Test func commandsPipelinesAndLargeValuesCrossTLS() async throws {
        try await withTLSServer { server, _ in
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            // A 4 MiB value both ways: many TLS records, and the bridge's backpressure in both directions.
            var big = [UInt8](repeating: 0, count: 4 << 20)
            for index in big.indices { big[index] = UInt8(truncatingIfNeeded: index &* 131 &+ 17) }
            var set = RedisCommand("SET", "big")
            set.append(bytes: big)
            try await redis.send(set)
            #expect(try await redis.send(RedisCommand("GET", "big")).bytes == big)
            let replies = try await redis.pipeline((0..<5_000).map { RedisCommand("INCR", "n:\($0 % 7)") })
            #expect(replies.count == 5_000)
            #expect(replies.last?.int == (0..<5_000).count { $0 % 7 == 4_999 % 7 })
            // The server really sees a TLS client.
            let clients = try await redis.send(RedisCommand("CLIENT", "INFO")).string ?? ""
            #expect(clients.contains("laddr=127.0.0.1:\(server.port)"))
        }
    }

    @Test func theServerCertificateIsVerified() async throws {
        try await withTLSServer { server, certificates in
            // A CA that did not sign the server's certificate.
            var wrongCA = server.configuration
            wrongCA.tls?.caFile = certificates.otherCA
            await #expect { try await RedisConnection.connect(wrongCA) } throws: { error in
                let error = error as? RedisError
                return error?.code == .connectionFailed && error?.message.contains("not signed by the CA in \(certificates.otherCA)") == true
            }
            // The system's trust roots do not know the test CA either.
            var systemRoots = server.configuration
            systemRoots.tls?.caFile = nil
            await #expect(throws: RedisError.self) { try await RedisConnection.connect(systemRoots) }
        }
    }

    @Test func theServerNameIsChecked() async throws {
        // A certificate for the name redis.test only, no IP address: the client must be told the name.
        try await withTLSServer(serverName: "redis.test") { server, _ in
            var byAddress = server.configuration
            byAddress.tls?.serverName = nil
            await #expect { try await RedisConnection.connect(byAddress) } throws: { error in
                (error as? RedisError)?.message.contains("not for its address") == true
            }
            var wrongName = server.configuration
            wrongName.tls?.serverName = "redis.example.com"
            await #expect { try await RedisConnection.connect(wrongName) } throws: { error in
                (error as? RedisError)?.message.contains("not for redis.example.com") == true
            }
            let named = try await RedisConnection.connect(server.configuration)
            #expect(try await named.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    @Test func plaintextAgainstTLSAndTLSAgainstPlaintextFailWithOneClearLine() async throws {
        try await withTLSServer { server, _ in
            var plaintext = server.configuration
            plaintext.tls = nil
            await #expect { try await RedisConnection.connect(plaintext) } throws: { error in
                let error = error as? RedisError
                return error?.code == .connectionFailed && error?.message.contains("use rediss://") == true
                    && error?.message.contains("\n") == false
            }
        }
        try await withRedisServer { server in
            var tls = server.configuration
            tls.tls = RedisTLS()
            await #expect { try await RedisConnection.connect(tls) } throws: { error in
                let error = error as? RedisError
                return error?.code == .connectionFailed && error?.message.hasPrefix("TLS handshake with rediss://127.0.0.1:\(server.port) failed") == true
            }
        }
    }

    @Test func mutualTLSNeedsTheClientCertificate() async throws {
        try await withTLSServer(requireClientCertificates: true) { server, _ in
            let authenticated = try await RedisConnection.connect(server.configuration)
            #expect(try await authenticated.send(RedisCommand("PING")) == .simpleString("PONG"))
            var anonymous = server.configuration
            anonymous.tls?.certificateFile = nil
            anonymous.tls?.keyFile = nil
            // TLS 1.3 finishes the client's handshake before the server checks its certificate, so the refusal may
            // come at the handshake or at the first command: either way it is an error, never an answer.
            await #expect(throws: RedisError.self) {
                let connection = try await RedisConnection.connect(anonymous)
                _ = try await connection.send(RedisCommand("PING"))
            }
        }
    }

    @Test func aBlockedReadIsCancelledAndTheConnectionComesBack() async throws {
        try await withTLSServer { server, _ in
            let redis = try await RedisConnection.connect(server.configuration)
            let blocked = Task { try await redis.send(RedisCommand("BLPOP", "never", 0)) }
            try await Task.sleep(for: .milliseconds(200))
            blocked.cancel()
            await #expect { try await blocked.value } throws: { error in (error as? RedisError)?.code == .cancelled }
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
        }
    }

    @Test func aRestartedServerIsReachedAgain() async throws {
        try await withTLSServer { server, _ in
            let redis = try await RedisConnection.connect(server.configuration)
            try await redis.send(RedisCommand("SET", "k", "v"))
            await server.kill()
            try await server.restart()
            // The first call after the restart may find the old connection broken; the next one reconnects.
            _ = try? await redis.send(RedisCommand("PING"))
            #expect(try await redis.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(await redis.reconnectCount >= 1)
        }
    }

    @Test func urlsAndEnvironmentSelectTLS() throws {
        let configuration = try RedisConfiguration.fromEnvironment([
            "REDIS_URL": "rediss://:secret@db.internal:6380", "REDIS_CA": "/dev/null", "REDIS_TLS_SERVER_NAME": "db",
        ])
        #expect(configuration.tls == RedisTLS(caFile: "/dev/null", serverName: "db"))
        #expect(configuration.description == "rediss://***@db.internal:6380")
        #expect(throws: RedisError.self) { try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://db:6379", "REDIS_CA": "/dev/null"]) }
        #expect(throws: RedisError.self) {
            try RedisConfiguration.fromEnvironment(["REDIS_URL": "rediss://db:6379", "REDIS_CERT": "/dev/null"])
        }
        #expect(throws: RedisError.self) {
            try RedisConfiguration.fromEnvironment(["REDIS_URL": "rediss://db:6379", "REDIS_CA": "/nonexistent/ca.pem"])
        }
    }
}
