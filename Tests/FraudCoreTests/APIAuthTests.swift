import Foundation
import FraudServer
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// `fraudstream serve` with API keys against a real redis-server: who may call what.
@Suite("Scoring API authentication against a real redis-server")
struct APIAuthTests {
    typealias Harness = ScoringAPIHarness

    @Test func everyEndpointButTheHealthChecksNeedsAKeyWithItsScope() async throws {
        try await Harness.with { api in
            let store = APIKeyStore(namespace: "fraud")
            let score = try await store.create(name: "payments", scopes: [.score], actor: "cli:test", on: api.redis).secret
            let reader = try await store.create(name: "dashboards", scopes: [.read], actor: "cli:test", on: api.redis).secret
            let admin = try await store.create(name: "ops", scopes: [.admin], actor: "cli:test", on: api.redis).secret
            let transaction = Harness.transaction("auth-1", user: 3)
            // The keys reach the running server within its next poll.
            try await waitUntil("the server has the new keys") {
                try await api.connect(key: score).request(.POST, "/v1/score", json: transaction).status == 200
            }
            let anonymous = try await api.connect(key: nil)
            let refused = try await anonymous.request(.POST, "/v1/score", json: Harness.transaction("auth-2", user: 3))
            #expect(refused.status == 401)
            #expect(refused.header("www-authenticate")?.hasPrefix("Bearer") == true)
            #expect(try Harness.object(refused)["error"] as? String == "unauthorized")
            #expect(try await anonymous.request(.GET, "/healthz").status == 200)
            let ready = try await anonymous.request(.GET, "/readyz")
            let readyAuth = try Harness.object(ready)["auth"] as? String
            #expect(ready.status == 200 && readyAuth == "keys", "\(ready.text)")
            #expect(try await anonymous.request(.GET, "/metrics").status == 401)
            #expect(try await anonymous.request(.GET, "/no-such-route").status == 401)
            // A made-up key of the right shape, and a real key's id with another secret: 401.
            let forged = String(score.prefix(21)) + String(repeating: "A", count: 43)
            #expect(try await api.connect(key: forged).request(.POST, "/v1/score", json: transaction).status == 401)
            #expect(try await api.connect(key: "fsk_0123456789abcdef_" + String(repeating: "x", count: 43)).request(.GET, "/metrics").status == 401)
            // Scopes.
            let scorer = try await api.connect(key: score)
            let forbidden = try await scorer.request(.PUT, "/v1/blocklist/ip/203.0.113.7")
            let forbiddenError = try Harness.object(forbidden)["error"] as? String
            #expect(forbidden.status == 403 && forbiddenError == "forbidden", "\(forbidden.text)")
            #expect(try await scorer.request(.GET, "/v1/models/current").status == 403)
            let readerClient = try await api.connect(key: reader)
            #expect(try await readerClient.request(.GET, "/v1/models/current").status == 200)
            #expect(try await readerClient.request(.GET, "/metrics").status == 200)
            #expect(try await readerClient.request(.POST, "/v1/score", json: Harness.transaction("auth-3", user: 3)).status == 403)
            #expect(try await readerClient.request(.DELETE, "/v1/blocklist/ip/6.6.6.6").status == 403)
            // The router ignores empty segments and a trailing slash; the scope check reads the path the same way.
            #expect(try await readerClient.request(.PUT, "/v1//blocklist/ip/203.0.113.9").status == 403)
            #expect(try await readerClient.request(.PUT, "//v1/blocklist/ip/203.0.113.9/").status == 403)
            #expect(try await readerClient.request(.PUT, "/v1/%62locklist/ip/203.0.113.9").status == 403)
            #expect(try await readerClient.request(.POST, "/v1/score/", json: Harness.transaction("auth-4", user: 3)).status == 403)
            #expect(try await readerClient.request(.POST, "/v1//score/batch", json: "{\"transactions\": []}").status == 403)
            #expect(try await readerClient.request(.POST, "/v1//approvals/1/approve").status == 403)
            #expect(try await scorer.request(.POST, "/v1/score/", json: Harness.transaction("auth-5", user: 3)).status == 200)
            #expect(try await readerClient.request(.GET, "/v1//blocklist/ip/203.0.113.9").status != 403)
            #expect(try await FeatureStore(namespace: "fraud").isBlocklisted(["203.0.113.9"], on: api.redis) == [false])
            let adminClient = try await api.connect(key: admin)
            #expect(try await adminClient.request(.PUT, "/v1/blocklist/ip/203.0.113.7").status == 200)
            #expect(try await readerClient.request(.GET, "/v1/blocklist/ip/203.0.113.7").status == 200)
            // A client's X-Request-Id ties the audit entry to its call and comes back in the answer.
            let ticketed = try await HTTPConnection.connect(
                host: "127.0.0.1", port: api.port, headers: [("Authorization", "Bearer \(admin)"), ("X-Request-Id", "ticket-42")])
            let removal = try await ticketed.request(.DELETE, "/v1/blocklist/ip/203.0.113.7")
            #expect(removal.status == 200 && removal.header("X-Request-Id") == "ticket-42")
            // Removing it again changes nothing and records nothing.
            #expect(try await ticketed.request(.DELETE, "/v1/blocklist/ip/203.0.113.7").status == 404)
            await ticketed.close()
            // The changes are audited with the key's name as the actor and each request's id.
            let audit = try await AuditLog(namespace: "fraud").list(action: "blocklist", on: api.redis)
            #expect(audit.map(\.actor) == ["key:ops", "key:ops"] && audit.map(\.action) == ["blocklist.add", "blocklist.remove"], "\(audit)")
            #expect(audit.first?.requestId.hasPrefix("req-") == true && audit.last?.requestId == "ticket-42", "\(audit)")
            #expect(audit.last?.target == "203.0.113.7")
            // A revoked key is refused by the running server (it polls twice a second).
            #expect(try await store.revoke(name: "payments", actor: "cli:test", on: api.redis))
            try await waitUntil("the revoked key is refused") {
                try await scorer.request(.POST, "/v1/score", json: Harness.transaction("auth-4", user: 3)).status == 401
            }
            // Each key's last use is written back.
            try await waitUntil("last uses are recorded") {
                let used = try await store.lastUsed(on: api.redis)
                return used["dashboards"] != nil && used["ops"] != nil
            }
            for client in [anonymous, scorer, readerClient, adminClient] { await client.close() }
        }
    }

    @Test func adminChangesAreRateLimitedPerKey() async throws {
        // 1 per second in bursts of 2: 20 changes sent at once get 429s unless the server takes 18 s or more to
        // reach them (sent one after another, a busy machine spread them that far apart).
        try await Harness.with(configure: { $0.adminRequestsPerSecond = 1 }) { api in
            var clients: [HTTPConnection] = []
            for _ in 0..<20 { clients.append(try await api.connect()) }
            let replies = try await withThrowingTaskGroup(of: HTTPConnection.Reply.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask { try await client.request(.PUT, "/v1/blocklist/ip/198.51.100.\(index)") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for client in clients { await client.close() }
            let statuses = replies.map(\.status)
            var retryAfter: String?
            for reply in replies where reply.status == 429 {
                retryAfter = reply.header("retry-after")
                #expect(try Harness.object(reply)["error"] as? String == "rate_limited")
            }
            #expect(statuses.count { $0 == 200 } >= 2, "\(statuses)")
            #expect(statuses.contains(429), "\(statuses)")
            #expect(retryAfter.flatMap(Int.init).map { $0 >= 1 } == true)
            // Scoring is not limited by it.
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score", json: Harness.transaction("rate-1", user: 1)).status == 200)
            await client.close()
        }
    }

    @Test func authOffAnswersWithoutAKeyAndSaysSo() async throws {
        try await Harness.with(configure: { $0.authRequired = false }) { api in
            let anonymous = try await api.connect(key: nil)
            #expect(try await anonymous.request(.POST, "/v1/score", json: Harness.transaction("open-1", user: 2)).status == 200)
            let ready = try await anonymous.request(.GET, "/readyz")
            let readyAuth = try Harness.object(ready)["auth"] as? String
            #expect(readyAuth == "off", "\(ready.text)")
            await anonymous.close()
            // doctor sees the running server's posture and warns about it.
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(api.redisHarness.server.port)"]
            try await waitUntil("the server announces itself", timeout: .seconds(60)) {
                try await ServerRegistry(namespace: "fraud").list(on: api.redis).contains { $0.serverId == "api-test" }
            }
            let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
            let line = doctor.standardOutput.split(separator: "\n").first { $0.contains("serve") && $0.contains("api-test") }
            #expect(line?.contains("warn") == true && line?.contains("auth off") == true && line?.contains("plain HTTP") == true, "\(doctor.standardOutput)")
        }
    }

    @Test func doctorReportsARunningServersAuthModeAndNotAStoppedOne() async throws {
        try await WorkerHarness.with { harness in
            let registry = ServerRegistry(namespace: "fraud")
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            try await ChildProcess.run(["serve", "--port", "0", "--server-id", "keyed", "--log-level", "error"] + redisArguments) { server in
                try await waitUntil("the server announces itself", timeout: .seconds(60)) {
                    try await registry.list(on: harness.redis).contains { $0.serverId == "keyed" }
                }
                let posture = try #require(try await registry.list(on: harness.redis).first { $0.serverId == "keyed" })
                #expect(posture.auth == "keys" && !posture.https && !posture.jwt && posture.pseudonymized.isEmpty, "\(posture)")
                let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
                #expect(doctor.standardOutput.contains("keyed at 127.0.0.1:0: auth keys, plain HTTP, identifiers in clear"), "\(doctor.standardOutput)")
                server.send(SIGTERM)
                #expect(try await server.waitForExit(timeout: .seconds(60)) == .exited(0), "\(server.standardError)")
            }
            // A graceful stop withdraws it.
            #expect(try await registry.list(on: harness.redis).isEmpty)
            let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
            #expect(doctor.standardOutput.contains("no scoring API running under 'fraud'"), "\(doctor.standardOutput)")
        }
    }

    @Test func aServerGoneForADayIsForgottenByTheNextAnnouncement() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let registry = ServerRegistry(namespace: "fraud")
            var crashed = ServerRegistry.Posture(
                serverId: "crashed", auth: "keys", jwt: false, https: false, clientCertificates: false, pseudonymized: [], address: "a:1", version: "t")
            crashed.seenMilliseconds = Int64(Date().timeIntervalSince1970 * 1_000) - 2 * 86_400_000
            let json = String(decoding: try JSONEncoder().encode(crashed), as: UTF8.self)
            _ = try await redis.send(RedisCommand("HSET", registry.key, "crashed", json))
            var live = crashed
            live.serverId = "live"
            try await registry.announce(live, on: redis)
            #expect(try await registry.list(on: redis).map(\.serverId) == ["live"])
        }
    }

    @Test func aBadAuthSettingIsOneLine() async throws {
        let bad = try await FraudStreamBinary.run(["serve", "--auth", "maybe", "--port", "0"])
        #expect(bad.status == 64, "\(bad.standardError)")
        #expect(bad.standardError.contains("must be one of keys, off"), "\(bad.standardError)")
    }
}
