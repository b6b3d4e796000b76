import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Rule sets in Redis, promoted to a running worker")
struct RuleSetTests {
    @Test func aPromotedRuleSetDecidesTheNextBatchesOfARunningWorker() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0, run: "before") })
            let store = RuleStore(namespace: "fraud")
            let assembly = try await harness.runWorker(harness.configuration(), while: { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 50)
                let text = RuleSet.defaultText + #"merchant_id in ["m1", "m2"] and amount > 0 => review reason watched_merchant"# + "\n"
                let version = try await store.save(text, note: "test", promote: true, on: harness.redis)
                #expect(version == 1)
                try await waitUntil("the worker installs the promoted rules") { assembly.serving.nextRulesVersion == 1 }
                try await harness.publish((50..<150).map { WorkerHarness.fields($0, run: "after") })
            }) { try await harness.length("fraud:results") >= 150 }
            #expect(assembly.serving.nextRulesVersion == 1)
            let results = try await harness.entries("fraud:results")
            let before = results.filter { $0["run_id"] == "before" }
            let after = results.filter { $0["run_id"] == "after" }
            #expect(before.count == 50 && after.count == 100)
            #expect(!before.contains { ($0["reasons"] ?? "").contains("watched_merchant") })
            // The new rule reads a text field of the transaction (merchant_id) and moves approvals to review.
            let watched = after.filter { ["m1", "m2"].contains(WorkerHarness.fields(Int(($0["transaction_id"] ?? "tx-0").dropFirst(3)) ?? 0)
                .first { $0.0 == "merchant_id" }?.1 ?? "") }
            #expect(!watched.isEmpty)
            for result in watched {
                #expect((result["reasons"] ?? "").contains("watched_merchant"), "\(result)")
                #expect(result["decision"] != "approve")
            }
            #expect(!after.filter { !watched.map { $0["transaction_id"] }.contains($0["transaction_id"]) }
                .contains { ($0["reasons"] ?? "").contains("watched_merchant") })
        }
    }

    @Test func perRuleHitsAndPrecisionInTheRunStatisticsEqualTheResults() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<400).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 400 }
            let results = try await harness.entries("fraud:results")
            var hits: [String: Int] = [:], fraud: [String: Int] = [:], labelled: [String: Int] = [:]
            for result in results {
                let label = WorkerHarness.fields(Int((result["transaction_id"] ?? "tx-0").dropFirst(3)) ?? 0).first { $0.0 == "is_fraud" }?.1
                for reason in (result["reasons"] ?? "").split(separator: ",").map(String.init) {
                    hits[reason, default: 0] += 1
                    if label != nil { labelled[reason, default: 0] += 1 }
                    if label == "1" { fraud[reason, default: 0] += 1 }
                }
            }
            let statistics = try await RunStatistics.load(run: "run-test", namespace: "fraud", on: harness.redis)
            #expect(statistics.rules.count == hits.count && !hits.isEmpty)
            for rule in statistics.rules {
                #expect(rule.hits == hits[rule.reason] && rule.labelled == labelled[rule.reason, default: 0]
                    && rule.fraud == fraud[rule.reason, default: 0], "\(rule)")
            }
            #expect(statistics.report.contains("rules       hits, and precision on labelled hits"))
            // Recall per scenario: these entries are labelled fraud without a scenario name ("unknown").
            let fraudIds = Set((0..<400).filter { $0 % 10 == 0 }.map { "tx-\($0)" })
            let fraudResults = results.filter { fraudIds.contains($0["transaction_id"] ?? "") }
            #expect(statistics.counters["scenario:unknown"] == fraudIds.count)
            #expect(statistics.counters["scenario_declined:unknown", default: 0] == fraudResults.filter { $0["is_fraud"] == "1" }.count)
            #expect(statistics.counters["scenario_flagged:unknown", default: 0] == fraudResults.filter { $0["decision"] != "approve" }.count)
            #expect(statistics.report.contains("scenarios   labelled fraud, recall declined"))
            // Those fields are the run's only: the writer's hash keeps its fixed counters.
            let workerFields = try await harness.redis.send(RedisCommand("HKEYS", RunStatisticsKeys(namespace: "fraud").worker(run: "run-test", worker: "w1")))
                .array?.compactMap(\.string) ?? []
            #expect(workerFields.contains("processed") && !workerFields.contains { $0.contains(":") }, "\(workerFields)")
            // A scenario outside the known ones counts as `other`: producers' free text adds no fields.
            #expect(WriteBatchCall.scenarioLabel("made_up") == "other" && WriteBatchCall.scenarioLabel(nil) == "unknown")
            #expect(WriteBatchCall.scenarioLabel("amount_spike") == "amount_spike")
        }
    }

    @Test func aShadowModelScoresEveryTransactionAndIsComparedOnLabels() async throws {
        try await WorkerHarness.with { harness in
            let models = ModelStore(namespace: "fraud")
            let challenger = try await models.save(WorkerHarness.tinyModel(seed: 7), promote: false, on: harness.redis)
            try await models.setShadow(challenger, on: harness.redis)
            let count = 300
            _ = try await harness.runWorker(harness.configuration(), while: { assembly in
                try await waitUntil("the worker loads the shadow model") { assembly.serving.shadowModelVersion == challenger }
                try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            }) { try await harness.length("fraud:results") >= count }
            let results = try await harness.entries("fraud:results")
            #expect(results.count == count)
            #expect(results.allSatisfy { $0["shadow_model_version"] == String(challenger) && Double($0["shadow_score"] ?? "") != nil })
            #expect(results.allSatisfy { $0["model_version"] == "1" })  // the champion still decides
            // The challenger's confusion matrix covers every labelled result, and matches its scores.
            let statistics = try await RunStatistics.load(run: "run-test", namespace: "fraud", on: harness.redis)
            let shadow = ["shadow_tp", "shadow_fp", "shadow_tn", "shadow_fn"].map { statistics.counters[$0] ?? 0 }
            #expect(shadow.reduce(0, +) == statistics.counters["labelled"])
            let flagged = results.filter { (Double($0["shadow_score"] ?? "") ?? 0) >= 0.7 }.count
            #expect(shadow[0] + shadow[1] == flagged)
            #expect(statistics.report.contains("shadow      \(count) labelled: precision"))
            // Both PR AUCs, from the histograms the write call keeps, equal those of the results' scores at 0.01.
            func averagePrecision(_ scoreField: String) -> Double {
                var positives = [Int](repeating: 0, count: 101), negatives = [Int](repeating: 0, count: 101)
                for result in results {
                    let bucket = Int(floor((Double(result[scoreField] ?? "0") ?? 0) * 100))
                    let index = Int((result["transaction_id"] ?? "tx-1").dropFirst(3)) ?? 1
                    if index % 10 == 0 { positives[bucket] += 1 } else { negatives[bucket] += 1 }
                }
                let total = positives.reduce(0, +)
                var tp = 0, flagged = 0, area = 0.0
                for bucket in stride(from: 100, through: 0, by: -1) where positives[bucket] + negatives[bucket] > 0 {
                    tp += positives[bucket]
                    flagged += positives[bucket] + negatives[bucket]
                    area += Double(positives[bucket]) / Double(total) * Double(tp) / Double(flagged)
                }
                return area
            }
            let champion = try #require(statistics.prAUC())
            let challengerAUC = try #require(statistics.prAUC(shadow: true))
            #expect(abs(champion - averagePrecision("score")) < 1e-9)
            #expect(abs(challengerAUC - averagePrecision("shadow_score")) < 1e-9)
            // Off again: nothing more is shadow-scored.
            try await models.setShadow(nil, on: harness.redis)
            #expect(try await models.shadowVersion(on: harness.redis) == nil)
        }
    }

    @Test func theScoringAPIShadowScoresToo() async throws {
        try await ScoringAPIHarness.with { api in
            let models = ModelStore(namespace: "fraud")
            let challenger = try await models.save(WorkerHarness.tinyModel(seed: 9), promote: false, on: api.redis)
            try await models.setShadow(challenger, on: api.redis)
            try await waitUntil("the server loads the shadow model") { api.admission.serving.shadowModelVersion == challenger }
            let client = try await api.connect()
            for index in 0..<10 {
                #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("s-\(index)", user: index)).status == 200)
            }
            try await waitUntil("every decision is recorded") { try await api.results().count == 10 }
            let results = try await api.results()
            #expect(results.allSatisfy { $0["shadow_model_version"] == String(challenger) && Double($0["shadow_score"] ?? "") != nil })
            await client.close()
        }
    }

    @Test func theRulesCommandValidatesAddsRemovesAndPromotes() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let bad = directory.appendingPathComponent("bad.rules").path
            try "# fine\namount >> 5 => review reason x\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let validate = try await FraudStreamBinary.run(["rules", "validate", bad])
            #expect(validate.status == 65)
            #expect(validate.standardError == "fraudstream: \(bad): line 2, column 9: expected a value, a name or '('\n")

            let list = try await FraudStreamBinary.run(["rules", "list"] + redisArguments)
            #expect(list.standardOutput.hasPrefix("* v0  built-in  11 rules"))
            let add = try await FraudStreamBinary.run(["rules", "add", "amount > 5000 => decline reason huge_amount"] + redisArguments)
            #expect(add.status == 0 && add.standardOutput.contains("stored rule set version 1 (12 rules), promoted"), "\(add.standardOutput) \(add.standardError)")
            let refused = try await FraudStreamBinary.run(["rules", "add", "amount > \"x\" => decline reason y"] + redisArguments)
            #expect(refused.status == 65 && refused.standardError.contains("column 8"))
            let remove = try await FraudStreamBinary.run(["rules", "remove", "velocity_1h", "--no-promote"] + redisArguments)
            #expect(remove.standardOutput.contains("stored rule set version 2 (11 rules):"), "\(remove.standardOutput)")
            let show = try await FraudStreamBinary.run(["rules", "show", "2"] + redisArguments)
            #expect(show.standardOutput.hasPrefix("# rule set version 2: v1 - velocity_1h\n"))
            let rules = show.standardOutput.split(separator: "\n").filter { !$0.hasPrefix("#") }
            #expect(rules.contains { $0.contains("huge_amount") } && !rules.contains { $0.contains("velocity_1h") })
            let listed = try await FraudStreamBinary.run(["rules", "list"] + redisArguments)
            #expect(listed.standardOutput.contains("* v1"))
            #expect(try await FraudStreamBinary.run(["rules", "promote", "2"] + redisArguments).status == 0)
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await RuleStore(namespace: "fraud").latestVersion(on: redis) == 2)
            #expect(try await FraudStreamBinary.run(["rules", "promote", "9"] + redisArguments).status == 66)
        }
    }

    @Test func rulesImportKeepsTheBuiltInRulesUnlessReplaceAndSaysWhichItDid() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("team.rules").path
            // README's four example rules, and one built-in rule word for word (as in a file edited from `rules show`).
            try """
                # the team's rules
                amount > 2000 and distance_from_home_km > 500 and new_device => review reason far_new_device_high_amount
                merchant_category in ["gift_cards", "jewelry"] and tx_count_1h >= 3 => score +0.2 reason gift_card_burst
                card_provider == "AMEX" and amount < 1 => decline reason amex_probe
                merchant_id in ["m42"] and not new_device => approve reason trusted_merchant
                ip_blocklisted => review reason ip_blocklist
                """.write(toFile: file, atomically: true, encoding: .utf8)
            let validate = try await FraudStreamBinary.run(["rules", "validate", file])
            try #require(validate.status == 0, "\(validate.standardError)")

            let kept = try await FraudStreamBinary.run(["rules", "import", file] + redisArguments)
            #expect(kept.status == 0, "\(kept.standardError)")
            #expect(kept.standardOutput == "stored rule set version 1: 11 built-in rules + 4 from \(file) "
                + "(the file's 1 other rule is built in already: stored once), promoted\n")
            let redis = try await RedisConnection.connect(server.configuration)
            let store = RuleStore(namespace: "fraud")
            let first = try await store.load(1, on: redis).ruleSet
            #expect(first.rules.count == 15)
            #expect(Array(first.rules.prefix(11).map(\.source)) == RuleSet.standard.rules.map(\.source))
            #expect(first.rules.count { $0.reason == "ip_blocklist" } == 1)
            #expect(first.rules.contains { $0.reason == "trusted_merchant" })

            let replaced = try await FraudStreamBinary.run(["rules", "import", file, "--replace", "--no-promote"] + redisArguments)
            #expect(replaced.status == 0, "\(replaced.standardError)")
            #expect(replaced.standardOutput == "stored rule set version 2: replaced: 5 rules from \(file) (not promoted)\n")
            #expect(try await store.load(2, on: redis).ruleSet.rules.map(\.reason)
                == ["far_new_device_high_amount", "gift_card_burst", "amex_probe", "trusted_merchant", "ip_blocklist"])
            #expect(try await store.latestVersion(on: redis) == 1)
            let list = try await FraudStreamBinary.run(["rules", "list"] + redisArguments)
            #expect(list.standardOutput.contains("built-in + import \(file)") && list.standardOutput.contains("import \(file) --replace"))

            // A bad line names the file's own line, with or without the built-in rules in front.
            try "amount > 1 => review reason ok\namount >> 5 => review reason x\n".write(toFile: file, atomically: true, encoding: .utf8)
            let bad = try await FraudStreamBinary.run(["rules", "import", file] + redisArguments)
            #expect(bad.status == 65)
            #expect(bad.standardError == "fraudstream: \(file): line 2, column 9: expected a value, a name or '('\n")
        }
    }
}
