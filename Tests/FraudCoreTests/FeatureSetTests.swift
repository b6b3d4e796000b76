import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Feature sets fraud teams define, versioned in Redis and promoted to running workers and servers: computed the same
/// way in serving and in `export-features`, read by rules, refused when a promotion would drop what a reader reads.
@Suite("Feature sets in Redis, computed by workers, the API and export-features")
struct FeatureSetTests {
    static let definitions = """
        # over four entities; one measure filters on a state-derived built-in feature (a second round trip)
        device_users_1h = distinct(user_id) by device_id over 1h
        ip_spend_10m = sum(amount) by ip over 10m
        merchant_new_device_share_1h = ratio(count() where new_device = 1, count()) by merchant_id over 1h
        user_gap = since_last() by user_id
        category_max_1d = max(amount) by merchant_category over 24h where amount >= 5
        """

    struct Explained: Decodable {
        struct Explanation: Decodable { var features: [String: Double] }
        var explanation: Explanation?
    }

    /// The world's history sent one request at a time to `POST /v1/score?explain=true` gives, for every transaction,
    /// the feature set's values `export-features` writes for it: training and serving see the same numbers.
    @Test func servingAndExportFeaturesComputeTheSameValuesOnTheWorldsHistory() async throws {
        try await ScoringAPIHarness.with { api in
            _ = try await FeatureSetStore(namespace: "fraud").save(Self.definitions, note: "test", promote: true, on: api.redis)
            try await waitUntil("the server installs the feature set") { api.admission.serving.featureSetVersion == 1 }
            var configuration = WorldConfiguration()
            configuration.users = 30
            configuration.days = 2
            let history = WorldGenerator.generate(configuration).history
            try #require(history.count > 100)
            let names = try FeatureSet.parse(Self.definitions).names
            var served: [String: [Double]] = [:]
            let client = try await api.connect()
            for transaction in history {
                let body = "{" + transaction.streamFields.filter { $0.0 != "is_fraud" && $0.0 != "fraud_scenario" }.map { name, value in
                    ["amount", "timestamp", "lat", "lon"].contains(name) ? "\"\(name)\": \(value)" : "\"\(name)\": \"\(value)\""
                }.joined(separator: ", ") + "}"
                let reply = try await client.request(.POST, "/v1/score?explain=true", json: body)
                // JSONDecoder reads numbers exactly (JSONSerialization may not, by an ulp).
                let features = try #require(try JSONDecoder().decode(Explained.self, from: Data(reply.body)).explanation?.features, "\(reply.text)")
                served[transaction.transactionId] = try names.map { name in try #require(features[name], "\(name) missing from \(features.keys)") }
            }
            await client.close()

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let out = directory.appendingPathComponent("rows.csv")
            let export = try await FraudStreamBinary.run([
                "export-features", "--out", out.path, "--users", "30", "--days", "2", "--redis-url", "redis://127.0.0.1:\(api.redisHarness.server.port)",
            ])
            #expect(export.status == 0, "\(export.standardError)")
            #expect(export.standardOutput.contains("(\(FeatureSchema.count) built-in, \(names.count) of feature set v1)"))
            let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
            #expect(lines.first.map(String.init) == TrainingMatrixCSV.header(FeatureSchema.names + names))
            var compared = 0
            var nonZero = Set<String>()
            for line in lines.dropFirst() {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                let exported = fields[(2 + FeatureSchema.count)..<(2 + FeatureSchema.count + names.count)].compactMap { Double($0) }
                let id = String(fields[0])
                #expect(exported == served[id], "\(id): export \(exported), API \(served[id] ?? [])")
                for (name, value) in zip(names, exported) where value != 0 && value != -1 { nonZero.insert(name) }
                compared += 1
            }
            #expect(compared == history.count)
            // Every feature took values other than its default somewhere: the comparison is not of zeros.
            #expect(nonZero == Set(names), "\(nonZero)")
        }
    }

    /// A worker computes a feature set promoted while it runs from the next batch on, and a rule reading it fires
    /// exactly where the feature says so; promoting a set that drops the feature the rules read is refused.
    @Test func aRunningWorkerInstallsAPromotedSetAndItsRuleFiresWhereTheFeatureSaysSo() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<60).map { WorkerHarness.fields($0, run: "before") })
            let features = FeatureSetStore(namespace: "fraud")
            let rules = RuleStore(namespace: "fraud")
            // A rule reading a feature no promoted set defines is refused.
            await #expect(throws: RuleSet.FileProblem.self) {
                _ = try await rules.save(RuleSet.defaultText + "device_users_1h >= 3 => review reason shared_device\n", note: "early", promote: true, on: harness.redis)
            }
            let assembly = try await harness.runWorker(harness.configuration(), while: { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 60)
                _ = try await features.save("device_users_1h = distinct(user_id) by device_id over 1h\n", note: "test", promote: true, on: harness.redis)
                _ = try await rules.save(
                    RuleSet.defaultText + "device_users_1h >= 3 => review reason shared_device\n", note: "test", promote: true, on: harness.redis)
                try await waitUntil("the worker installs the feature set and the rules") {
                    assembly.serving.featureSetVersion == 1 && assembly.serving.nextRulesVersion == 1
                }
                try await harness.publish((60..<160).map { WorkerHarness.fields($0, run: "after") })
            }) { try await harness.length("fraud:results") >= 160 }
            #expect(assembly.serving.featureSetVersion == 1)
            let results = try await harness.entries("fraud:results")
            #expect(!results.filter { $0["run_id"] == "before" }.contains { ($0["reasons"] ?? "").contains("shared_device") })
            // Brute force: the distinct users of the device among the earlier transactions the set saw (the 'after' ones).
            var fired = 0
            for result in results where result["run_id"] == "after" {
                let index = Int((result["transaction_id"] ?? "tx-0").dropFirst(3)) ?? 0
                let device = index % 7
                let users = Set((60..<index).filter { $0 % 7 == device }.map { $0 % 25 })
                let expected = users.count >= 3
                #expect((result["reasons"] ?? "").contains("shared_device") == expected, "tx-\(index): \(users.count) users before")
                if expected { fired += 1 }
            }
            #expect(fired > 50)
            // The rules read device_users_1h: a set without it is not promoted.
            let empty = try await features.save("ip_count_1h = count() by ip over 1h\n", note: "drops it", promote: false, on: harness.redis)
            await #expect(throws: FraudError.self) { try await features.promote(empty, on: harness.redis) }
            #expect(try await features.latestVersion(on: harness.redis) == 1)
        }
    }

    /// The command line: validate names the line and column, add/remove/import store versions, list and show print
    /// them, promote refuses to drop a feature the promoted rules read, and backfill makes a new feature meaningful.
    @Test func theFeaturesCommandStoresPromotesRefusesAndBackfills() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("features-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let bad = directory.appendingPathComponent("bad.features").path
            try "a = count() by ip over 1h\nb = sum(amount) by ip over 2y\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let validate = try await FraudStreamBinary.run(["features", "validate", bad])
            #expect(validate.status == 65 && validate.standardError.contains("line 2, column"), "\(validate.standardError)")

            // Version 0 prints the built-in features' definitions, as comments (the output imports as it is).
            let builtIn = try await FraudStreamBinary.run(["features", "show", "0"] + redisArguments)
            #expect(builtIn.status == 0 && builtIn.standardOutput.contains("#   tx_count_1h = count() by user_id over 1h\n"), "\(builtIn.standardOutput)")
            #expect(builtIn.standardOutput.contains("#   device_events_window = count() by device_id over 5s\n"))
            let list = try await FraudStreamBinary.run(["features", "list"] + redisArguments)
            #expect(list.standardOutput.hasPrefix("* v0  built-in  \(FeatureSchema.count) built-in features only"), "\(list.standardOutput)")
            let add = try await FraudStreamBinary.run(["features", "add", "device_cards_1h = distinct(user_id) by device_id over 1h"] + redisArguments)
            #expect(add.status == 0 && add.standardOutput.contains("stored feature set version 1 (1 features)"), "\(add.standardOutput)\(add.standardError)")
            #expect(add.standardOutput.contains("promoted feature set version 1"))
            let second = try await FraudStreamBinary.run(["features", "add", "ip_spend_10m = sum(amount) by ip over 10m"] + redisArguments)
            #expect(second.status == 0, "\(second.standardError)")
            let show = try await FraudStreamBinary.run(["features", "show"] + redisArguments)
            #expect(show.standardOutput.contains("device_cards_1h = distinct(user_id) by device_id over 1h\nip_spend_10m = sum(amount) by ip over 10m\n"))
            // A rule on the new feature; then removing the feature is refused while the rules read it.
            let rule = try await FraudStreamBinary.run(["rules", "add", "device_cards_1h >= 4 => review reason device_cycling_cards"] + redisArguments)
            #expect(rule.status == 0, "\(rule.standardError)")
            let remove = try await FraudStreamBinary.run(["features", "remove", "device_cards_1h"] + redisArguments)
            #expect(remove.status == 65 && remove.standardError.contains("drops device_cards_1h, which the promoted rule set v1 reads"), "\(remove.standardError)")
            #expect(try await FeatureSetStore(namespace: "fraud").latestVersion(on: harness.redis) == 2)
            let unknown = try await FraudStreamBinary.run(["rules", "add", "nope_1h > 1 => review reason nope"] + redisArguments)
            #expect(unknown.status == 65 && unknown.standardError.contains("unknown name 'nope_1h'"))

            // Backfill: the world's history folded into the set's state, twice without counting anything twice.
            let world = ["--users", "40", "--days", "1", "--seed", "9"]
            let backfill = try await FraudStreamBinary.run(["features", "backfill"] + world + redisArguments)
            #expect(backfill.status == 0 && backfill.standardOutput.contains("backfilled feature set v2"), "\(backfill.standardOutput)\(backfill.standardError)")
            let keys = try await Keyspace(namespace: "fraud").keys(matching: "fraud:{fe:device_id:*}:events", on: harness.redis)
            #expect(!keys.isEmpty)
            var sizes: [Int] = []
            for key in keys { sizes.append(try await harness.redis.send(RedisCommand("ZCARD", key)).int ?? 0) }
            _ = try await FraudStreamBinary.run(["features", "backfill"] + world + redisArguments)
            var again: [Int] = []
            for key in keys { again.append(try await harness.redis.send(RedisCommand("ZCARD", key)).int ?? 0) }
            #expect(sizes == again && sizes.reduce(0, +) > 0)
            let audit = try await AuditLog(namespace: "fraud").list(action: "features", on: harness.redis)
            #expect(audit.map(\.action).contains("features.backfill") && audit.map(\.action).contains("features.promote"))

            // Under maker-checker a promotion becomes a proposal another principal approves.
            let approvals = ApprovalStore(namespace: "fraud")
            try await approvals.setRequired(.featuresPromote, true, actor: "cli:test@harness", on: harness.redis)
            let proposed = try await FraudStreamBinary.run(["features", "add", "ip_count_1h = count() by ip over 1h"] + redisArguments)
            #expect(proposed.status == 0 && proposed.standardOutput.contains("stored feature set version 4"), "\(proposed.standardOutput)\(proposed.standardError)")
            #expect(try await FeatureSetStore(namespace: "fraud").latestVersion(on: harness.redis) == 2)
            let proposal = try #require(try await approvals.list(on: harness.redis).first { $0.family == .featuresPromote })
            #expect(proposal.target == "4")
            let approved = try await approvals.decide(proposal.id, approve: true, actor: "key:checker", on: harness.redis)
            try await approvals.apply(approved, actor: "key:checker", on: harness.redis)
            #expect(try await FeatureSetStore(namespace: "fraud").latestVersion(on: harness.redis) == 4)
        }
    }

    /// An XGBoost model over `amount` and `device_users_1h`: margin +2 when the device had 3 or more users, else −2.
    static let deviceModel = """
        {"learner": {"attributes": {}, "feature_names": ["amount", "device_users_1h"], "feature_types": ["float", "float"],
          "gradient_booster": {"name": "gbtree", "model": {"gbtree_model_param": {"num_trees": "1"}, "tree_info": [0], "trees": [
            {"id": 0, "tree_param": {"num_nodes": "3", "num_feature": "2", "size_leaf_vector": "1"},
             "left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [1, 0, 0],
             "split_conditions": [2.5, -2.0, 2.0], "default_left": [1, 0, 0], "split_type": [0, 0, 0], "categories": []}]}},
          "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "2", "num_target": "1"},
          "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}},
         "version": [2, 1, 3]}
        """

    /// An imported model may read a feature set's feature: imported only once a set defines it, served by a worker
    /// with the feature's value, and a set that drops it is not promoted while the model serves.
    @Test func anImportedModelReadsAFeatureSetsFeatureAndKeepsItFromBeingDropped() async throws {
        try await WorkerHarness.with { harness in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("model-features-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let file = directory.appendingPathComponent("device.json").path
            try Self.deviceModel.write(toFile: file, atomically: true, encoding: .utf8)
            let early = try await FraudStreamBinary.run(["models", "import", file, "--format", "xgboost-json"] + redisArguments)
            #expect(early.status == 65 && early.standardError.contains("device_users_1h"), "\(early.standardError)")

            let features = FeatureSetStore(namespace: "fraud")
            _ = try await features.save("device_users_1h = distinct(user_id) by device_id over 1h\n", note: "test", promote: true, on: harness.redis)
            let imported = try await FraudStreamBinary.run(["models", "import", file, "--format", "xgboost-json"] + redisArguments)
            #expect(imported.status == 0 && imported.standardOutput.contains("promoted"), "\(imported.standardOutput)\(imported.standardError)")
            let served = try #require(try await ModelStore(namespace: "fraud").latestVersion(on: harness.redis))

            try await harness.publish((0..<80).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 80 }
            var declined = 0
            for result in try await harness.entries("fraud:results") {
                let index = Int((result["transaction_id"] ?? "tx-0").dropFirst(3)) ?? 0
                let users = Set((0..<index).filter { $0 % 7 == index % 7 }.map { $0 % 25 }).count
                #expect(result["model_version"] == String(served))
                #expect((result["decision"] == "decline") == (users >= 3), "tx-\(index): \(users) users, \(result)")
                if users >= 3 { declined += 1 }
            }
            #expect(declined > 40)
            let without = try await features.save("ip_count_1h = count() by ip over 1h\n", note: "drops it", promote: false, on: harness.redis)
            do {
                try await features.promote(without, on: harness.redis)
                Issue.record("a set dropping the served model's feature was promoted")
            } catch let error as FraudError {
                #expect(error.message.contains("served model v\(served) reads"), "\(error.message)")
            }
        }
    }
}
