import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// API keys and the audit log against a real redis-server: the store, and the `apikeys` and `audit` commands.
@Suite("API keys and the audit log against a real redis-server")
struct APIKeysTests {
    @Test func keysAreStoredAsSaltedHashesAndEveryChangeIsAudited() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let store = APIKeyStore(namespace: "fraud")
            let (key, secret) = try await store.create(name: "payments", scopes: [.score, .read], actor: "cli:test@host", on: redis)
            #expect(APIKey.id(inSecret: secret) == key.id)
            #expect(key.matches(secret))
            #expect(!key.matches(secret + "x"))
            #expect(!key.matches(String(secret.dropLast()) + (secret.hasSuffix("A") ? "B" : "A")))
            // Nothing stored holds the secret.
            for name in try await Keyspace(namespace: "fraud").keys(matching: "*", on: redis) {
                let type = try await redis.send(RedisCommand("TYPE", name)).string
                let dump = type == "hash" ? "\(try await redis.send(RedisCommand("HGETALL", name)))" : "\(try await redis.send(RedisCommand("DUMP", name)))"
                #expect(!dump.contains(String(secret.suffix(40))), "\(name) holds the secret")
        }
        let loaded = try await store.load(on: redis)
        #expect(loaded.map(\.name) == ["payments"] && loaded.first?.scopes == [.read, .score])
        // A name is unique; the version moves with each change.
        let version = try await store.version(on: redis)
        await #expect(throws: FraudError.self) { try await store.create(name: "payments", scopes: [.admin], actor: "cli:test@host", on: redis) }
        #expect(try await store.version(on: redis) == version)
        #expect(try await store.revoke(name: "payments", actor: "key:ops", on: redis))
        #expect(try await !store.revoke(name: "payments", actor: "key:ops", on: redis))
        #expect(try await store.load(on: redis).isEmpty)
        #expect(try await store.version(on: redis) == version + 1)
        let audit = try await AuditLog(namespace: "fraud").list(on: redis)
        #expect(audit.map(\.action) == ["apikeys.create", "apikeys.revoke"])
        #expect(audit.map(\.actor) == ["cli:test@host", "key:ops"])
        #expect(audit.allSatisfy { $0.target == "payments" && !$0.requestId.isEmpty && $0.timeMilliseconds > 0 })
        #expect(try await AuditLog(namespace: "fraud").list(action: "apikeys.create", on: redis).count == 1)
        #expect(try await AuditLog(namespace: "fraud").list(actor: "key:ops", on: redis).count == 1)
        await redis.close()
        }
    }

    @Test func theCommandsPrintTheSecretOnceAndListWithoutIt() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let created = try await FraudStreamBinary.run(["apikeys", "create", "--name", "ops-1", "--scope", "admin,read"] + redisArguments)
            #expect(created.status == 0, "\(created.standardError)")
            let secret = try #require(created.standardOutput.split(separator: "\n").last.map(String.init))
            #expect(APIKey.id(inSecret: secret) != nil, "\(created.standardOutput)")
            let listed = try await FraudStreamBinary.run(["apikeys", "list", "--json"] + redisArguments)
            #expect(listed.status == 0)
            #expect(!listed.standardOutput.contains(String(secret.suffix(40))))
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
            #expect(keys.first?["name"] as? String == "ops-1" && keys.first?["scopes"] as? [String] == ["admin", "read"])
            // doctor reports the security posture.
            let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
            #expect(doctor.standardOutput.contains("api-keys") && doctor.standardOutput.contains("1 under 'fraud'"), "\(doctor.standardOutput)")
            #expect(doctor.standardOutput.contains("tls") && doctor.standardOutput.contains("audit-log"), "\(doctor.standardOutput)")
            // Bad input: one line and exit 64.
            let badScope = try await FraudStreamBinary.run(["apikeys", "create", "--name", "x", "--scope", "root"] + redisArguments)
            #expect(badScope.status == 64 && badScope.standardError.contains("unknown scope 'root'"), "\(badScope.standardError)")
            let badName = try await FraudStreamBinary.run(["apikeys", "create", "--name", "a b", "--scope", "read"] + redisArguments)
            #expect(badName.status == 64, "\(badName.standardError)")
            let missing = try await FraudStreamBinary.run(["apikeys", "revoke", "nobody"] + redisArguments)
            #expect(missing.status == 66, "\(missing.standardError)")
            #expect(try await FraudStreamBinary.run(["apikeys", "revoke", "ops-1"] + redisArguments).status == 0)
            let audit = try await FraudStreamBinary.run(["audit", "list", "--json", "--action", "apikeys"] + redisArguments)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.standardOutput.utf8)) as? [[String: Any]])
            #expect(entries.map { $0["action"] as? String } == ["apikeys.create", "apikeys.revoke"])
            #expect(entries.allSatisfy { ($0["actor"] as? String)?.hasPrefix("cli:") == true })
        }
    }

    /// `AUDIT_RETENTION_DAYS` sets how far back each append trims (by age, `MINID`); a bad value is one line, exit 64.
    @Test func theAuditRetentionIsASetting() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let bad = try await FraudStreamBinary.run(["audit", "list"] + redisArguments, environment: ["AUDIT_RETENTION_DAYS": "a year"])
            #expect(bad.status == 64 && bad.standardError.contains("AUDIT_RETENTION_DAYS must be a whole number of days"), "\(bad.standardError)")
            #expect(try await FraudStreamBinary.run(["rules", "add", "amount > 9000 => review reason kept_rule"] + redisArguments).status == 0)
            let streams = try await Keyspace(namespace: "fraud").keys(matching: "fraud:audit:*", on: harness.redis)
            // The stream every promotion appends to (each saved version has its own, written once).
            let stream = AuditLog(namespace: "fraud").stream(tag: "fraud:rules:latest")
            try #require(streams.contains(stream), "\(streams)")
            // 300 entries from 60 days ago (three whole stream nodes, which MINID ~ trims whole), then one change a
            // day's retention: the old nodes go. Under the default 400 days they would stay.
            let old = Int64(Date().timeIntervalSince1970 * 1000) - 60 * 86_400_000
            try await harness.redis.send(RedisCommand("DEL", stream))
            for index in 0..<300 {
                try await harness.redis.send(RedisCommand("XADD", stream, "\(old + Int64(index))-0", "actor", "seed", "action", "seed.old"))
            }
            #expect(try await FraudStreamBinary.run(["rules", "add", "amount > 9100 => review reason default_kept"] + redisArguments).status == 0)
            let untrimmed = try await harness.redis.send(RedisCommand("XLEN", stream)).int ?? 0
            #expect(untrimmed >= 300)
            let trimmed = try await FraudStreamBinary.run(
                ["rules", "add", "amount > 9200 => review reason short_retention"] + redisArguments, environment: ["AUDIT_RETENTION_DAYS": "30"])
            #expect(trimmed.status == 0, "\(trimmed.standardError)")
            #expect((try await harness.redis.send(RedisCommand("XLEN", stream)).int ?? 0) < untrimmed - 100)
        }
    }

    @Test func changesFromTheCommandLineAreAuditedWithTheirActor() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            for arguments in [
                ["blocklist", "add", "203.0.113.9", "203.0.113.10"], ["blocklist", "remove", "203.0.113.9"],
                ["rules", "add", "amount > 9000 => review reason audited_rule"], ["rules", "add", "amount > 9500 => review reason second_rule"],
                ["rules", "promote", "1"], ["models", "promote", "1"],
                ["models", "shadow", "1"], ["models", "shadow", "--off"],
            ] {
                let run = try await FraudStreamBinary.run(arguments + redisArguments)
                #expect(run.status == 0, "\(arguments): \(run.standardError)")
            }
            // Removing an IP that is not listed changes nothing and records nothing.
            #expect(try await FraudStreamBinary.run(["blocklist", "remove", "198.51.100.77"] + redisArguments).status == 1)
            let entries = try await AuditLog(namespace: "fraud").list(on: harness.redis)
            #expect(
                entries.map(\.action) == [
                    "blocklist.add", "blocklist.remove", "rules.save", "rules.promote", "rules.save", "rules.promote", "rules.promote",
                    "models.promote", "models.shadow", "models.shadow",
                ], "\(entries.map(\.action))")
            #expect(entries.allSatisfy { $0.actor.hasPrefix("cli:") })
            #expect(entries[0].target == "203.0.113.9,203.0.113.10" && entries[1].target == "203.0.113.9")
            #expect(entries[6].change == "v2 → v1", "\(entries[6].change)")
            // The entries of one command run share its id; another run has another.
            #expect(entries[2].requestId == entries[3].requestId && entries[3].requestId != entries[4].requestId, "\(entries.map(\.requestId))")
            #expect(entries[2].requestId.hasPrefix("run-"))
            #expect(entries[9].change == "v1 → none", "\(entries[9].change)")
            let json = try await FraudStreamBinary.run(["audit", "list", "--json", "--action", "models"] + redisArguments)
            let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]])
            #expect(listed.count == 3)
        }
    }
}
