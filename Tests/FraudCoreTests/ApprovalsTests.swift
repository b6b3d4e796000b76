import Foundation
import FraudServer
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Maker-checker against a real redis-server: a change under approval is a proposal until a different principal
/// approves it, on the command line and over HTTP.
@Suite("Maker-checker approvals against a real redis-server")
struct ApprovalsTests {
    @Test func aPromotionWaitsForAnotherPrincipalAndTheProposerCannotApproveIt() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let alice = ["USER": "alice"]
            let bob = ["USER": "bob"]
            #expect(try await FraudStreamBinary.run(["approvals", "require", "rules.promote"] + redisArguments, environment: alice).status == 0)
            // A new rule is stored but not promoted: a proposal instead.
            let added = try await FraudStreamBinary.run(
                ["rules", "add", "amount > 9000 => review reason checked_rule"] + redisArguments, environment: alice)
            #expect(added.status == 0 && added.standardOutput.contains("proposed #1"), "\(added.standardOutput) \(added.standardError)")
            let rules = RuleStore(namespace: "fraud")
            #expect(try await rules.latestVersion(on: harness.redis) == nil)
            // Alice cannot approve her own change.
            let own = try await FraudStreamBinary.run(["approvals", "approve", "1"] + redisArguments, environment: alice)
            #expect(own.status == 1 && own.standardError.contains("cannot also approve"), "\(own.standardError)")
            #expect(try await rules.latestVersion(on: harness.redis) == nil)
            // Bob can, and then it is applied.
            let approved = try await FraudStreamBinary.run(["approvals", "approve", "1"] + redisArguments, environment: bob)
            #expect(approved.status == 0, "\(approved.standardError)")
            #expect(try await rules.latestVersion(on: harness.redis) == 1)
            // Decided once.
            #expect(try await FraudStreamBinary.run(["approvals", "reject", "1"] + redisArguments, environment: alice).status == 1)
            // The audit log has the whole story.
            let actions = try await AuditLog(namespace: "fraud").list(on: harness.redis).map { "\($0.action) \($0.actor.split(separator: "@").first ?? "")" }
            #expect(
                actions == [
                    "approvals.require cli:alice", "rules.save cli:alice", "approvals.propose cli:alice", "approvals.approve cli:bob",
                    "rules.promote cli:bob",
                ], "\(actions)")
        }
    }

    /// `rules import` and `train` promote only as `rules promote` and `models promote` do: under maker-checker they
    /// propose, and a promotion is audited with its actor.
    @Test func importAndTrainingGoThroughMakerCheckerToo() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let alice = ["USER": "alice"]
            let models = ModelStore(namespace: "fraud")
            let promotedBefore = try await models.latestVersion(on: harness.redis)
            #expect(try await FraudStreamBinary.run(["approvals", "require", "rules.promote"] + redisArguments, environment: alice).status == 0)
            #expect(try await FraudStreamBinary.run(["approvals", "require", "models.promote"] + redisArguments, environment: alice).status == 0)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mc-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("extra.rules").path
            try "amount > 9000 => review reason imported_rule\n".write(toFile: file, atomically: true, encoding: .utf8)
            let imported = try await FraudStreamBinary.run(["rules", "import", file] + redisArguments, environment: alice)
            #expect(imported.status == 0 && imported.standardOutput.contains("promotion proposed for approval"), "\(imported.standardOutput)\(imported.standardError)")
            #expect(try await RuleStore(namespace: "fraud").latestVersion(on: harness.redis) == nil)
            let trained = try await FraudStreamBinary.run(["train", "--users", "40", "--days", "2", "--trees", "5"] + redisArguments, environment: alice)
            #expect(trained.status == 0 && trained.standardOutput.contains("promotion proposed for approval"), "\(trained.standardOutput)\(trained.standardError)")
            #expect(try await models.latestVersion(on: harness.redis) == promotedBefore)
            let proposals = try await ApprovalStore(namespace: "fraud").list(on: harness.redis)
            #expect(Set(proposals.map(\.family)) == [.rulesPromote, .modelsPromote])
            // Without maker-checker, training promotes, audited with its actor.
            #expect(try await FraudStreamBinary.run(["approvals", "require", "models.promote", "--off"] + redisArguments, environment: alice).status == 0)
            let again = try await FraudStreamBinary.run(["train", "--users", "40", "--days", "2", "--trees", "5"] + redisArguments, environment: alice)
            #expect(again.status == 0 && again.standardOutput.contains("promoted to latest"), "\(again.standardOutput)\(again.standardError)")
            let promotions = try await AuditLog(namespace: "fraud").list(action: "models.promote", on: harness.redis)
            #expect(promotions.last?.actor.hasPrefix("cli:alice") == true, "\(promotions)")
        }
    }

    @Test func aBlocklistRemovalOverHTTPWaitsForAnotherAdminKey() async throws {
        try await ScoringAPIHarness.with { api in
            let keys = APIKeyStore(namespace: "fraud")
            let first = try await keys.create(name: "ops-a", scopes: [.admin], actor: "cli:test", on: api.redis).secret
            let second = try await keys.create(name: "ops-b", scopes: [.admin], actor: "cli:test", on: api.redis).secret
            try await ApprovalStore(namespace: "fraud").setRequired(.blocklistRemove, true, actor: "cli:test", on: api.redis)
            let a = try await api.connect(key: first)
            let b = try await api.connect(key: second)
            try await waitUntil("the server has the new keys") { try await a.request(.GET, "/v1/approvals").status == 200 }
            // 6.6.6.6 is listed by the harness; its removal becomes proposal 1.
            let proposed = try await a.request(.DELETE, "/v1/blocklist/ip/6.6.6.6")
            #expect(proposed.status == 202, "\(proposed.text)")
            #expect(try ScoringAPIHarness.object(proposed)["id"] as? Int == 1)
            #expect(try await FeatureStore(namespace: "fraud").isBlocklisted(["6.6.6.6"], on: api.redis) == [true])
            #expect(try await a.request(.POST, "/v1/approvals/1/approve").status == 409)
            let approved = try await b.request(.POST, "/v1/approvals/1/approve")
            let decidedBy = try ScoringAPIHarness.object(approved)["decided_by"] as? String
            #expect(approved.status == 200 && decidedBy == "key:ops-b", "\(approved.text)")
            #expect(try await FeatureStore(namespace: "fraud").isBlocklisted(["6.6.6.6"], on: api.redis) == [false])
            #expect(try await b.request(.POST, "/v1/approvals/9/approve").status == 404)
            // A key without the admin scope may not see or decide proposals.
            let reader = try await keys.create(name: "dash", scopes: [.read, .score], actor: "cli:test", on: api.redis).secret
            let readerClient = try await api.connect(key: reader)
            try await waitUntil("the server has the reader key") { try await readerClient.request(.GET, "/metrics").status == 200 }
            #expect(try await readerClient.request(.GET, "/v1/approvals").status == 403)
            #expect(try await readerClient.request(.POST, "/v1/approvals/1/reject").status == 403)
            await a.close()
            await b.close()
            await readerClient.close()
        }
    }

    @Test func theProposalsStayBoundedDecidedOnesGoFirst() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let store = ApprovalStore(namespace: "fraud")
            for index in 0..<ApprovalStore.maximumProposals {
                _ = try await store.propose(.blocklistRemove, target: "198.51.100.\(index % 250)", actor: "key:alice", on: redis)
            }
            await #expect(throws: FraudError.self) { try await store.propose(.rulesPromote, target: "2", actor: "key:alice", on: redis) }
            for id in 1...10 { _ = try await store.decide(id, approve: false, actor: "key:bob", on: redis) }
            let next = try await store.propose(.rulesPromote, target: "2", actor: "key:alice", on: redis)
            #expect(next.id == ApprovalStore.maximumProposals + 1)
            #expect(try await redis.send(RedisCommand("HLEN", store.proposalsKey)).int == ApprovalStore.maximumProposals - 10 + 1)
            // Every decision is still in the audit log.
            #expect(try await AuditLog(namespace: "fraud").list(action: "approvals.reject", on: redis).count == 10)
        }
    }
}
