import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("The review queue and analysts' labels against a real redis-server")
struct ReviewQueueTests {
    @Test func reviewsAreQueuedResolvedImportedAndTrainedOn() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<300).map { WorkerHarness.fields($0) })
            _ = try await harness.runWorker(harness.configuration()) { try await harness.length("fraud:results") >= 300 }
            let results = try await harness.entries("fraud:results")
            let reviewed = results.filter { $0["decision"] == "review" }.compactMap { $0["transaction_id"] }
            #expect(!reviewed.isEmpty)
            // Every review decision is in the queue, with the vector it was decided on.
            let queue = ReviewQueue(streams: StreamNames(namespace: "fraud"))
            let items = try await queue.items(count: 1_000, all: true, on: harness.redis)
            #expect(Set(items.map(\.transactionId)) == Set(reviewed) && items.count == reviewed.count)
            #expect(items.allSatisfy { $0.features?.count == FeatureSchema.count })
            // --count counts unlabelled ones: with the newest two labelled, the first one listed is the third newest.
            if items.count >= 3 {
                try await queue.label([(items[0].transactionId, true), (items[1].transactionId, false)], on: harness.redis)
                let next = try await queue.items(count: 1, all: false, on: harness.redis)
                #expect(next.map(\.transactionId) == [items[2].transactionId])
                try await harness.redis.send(RedisCommand("HDEL", queue.labelsKey, items[0].transactionId, items[1].transactionId))
            }

            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            let first = try #require(reviewed.first)
            let listed = try await FraudStreamBinary.run(["review", "list", "--count", "1000"] + redisArguments)
            #expect(listed.standardOutput.contains("\(first)  user"))
            #expect(try await FraudStreamBinary.run(["review", "resolve", first, "fraud"] + redisArguments).status == 0)
            let after = try await FraudStreamBinary.run(["review", "list", "--count", "1000"] + redisArguments)
            #expect(!after.standardOutput.contains("\(first)  user"))
            #expect(try await FraudStreamBinary.run(["review", "resolve", first, "maybe"] + redisArguments).status == 64)
            // An id the queue does not hold is an error naming it, and labels nothing.
            let unknown = try await FraudStreamBinary.run(["review", "resolve", "does-not-exist", "fraud"] + redisArguments)
            #expect(unknown.status == 66)
            #expect(unknown.standardOutput.isEmpty)
            #expect(unknown.standardError.split(separator: "\n").count == 1)
            #expect(unknown.standardError.hasPrefix("fraudstream: no review decision for transaction 'does-not-exist' in fraud:review"),
                    "\(unknown.standardError)")
            #expect(try await harness.redis.send(RedisCommand("HEXISTS", queue.labelsKey, "does-not-exist")).int == 0)

            // Chargebacks: a file of transaction_id,label.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: file) }
            let more = Array(reviewed.dropFirst().prefix(3))
            try (["transaction_id,label"] + more.enumerated().map { "\($0.element),\($0.offset == 0 ? "legit" : "fraud")" })
                .joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            // An id listed twice is an error naming both lines, and nothing is imported.
            try #require(more.count >= 2, "the worker made \(reviewed.count) review decisions")
            let twice = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString).csv").path
            defer { try? FileManager.default.removeItem(atPath: twice) }
            try "transaction_id,label\n\(more[0]),fraud\n# a comment\n\(more[1]),legit\n\(more[0]),legit\n".write(toFile: twice, atomically: true, encoding: .utf8)
            let labelsBefore = try await harness.redis.send(RedisCommand("HLEN", queue.labelsKey)).int
            let duplicate = try await FraudStreamBinary.run(["labels", "import", twice] + redisArguments)
            #expect(duplicate.status == 65)
            #expect(duplicate.standardError == "fraudstream: \(twice): transaction '\(more[0])' is listed twice, on lines 2 and 5; nothing imported\n")
            #expect(try await harness.redis.send(RedisCommand("HLEN", queue.labelsKey)).int == labelsBefore)

            let imported = try await FraudStreamBinary.run(["labels", "import", file] + redisArguments)
            #expect(imported.standardOutput == "imported \(more.count) labels\n", "\(imported.standardError)")
            // Both changes are in the audit log with their actor; the refused ones are not.
            for (action, target, change) in [
                ("review.resolve", first, "labelled fraud"),
                ("labels.import", "\(more.count) transactions from \((file as NSString).lastPathComponent)", "\(more.count - 1) fraud, 1 legit"),
            ] {
                let audit = try await FraudStreamBinary.run(["audit", "list", "--json", "--action", action] + redisArguments)
                let all = try #require(try JSONSerialization.jsonObject(with: Data(audit.standardOutput.utf8)) as? [[String: Any]])
                // (The labels this test set through the store at the start are there too, as labels.import of 2.)
                let entries = all.filter { $0["target"] as? String == target }
                #expect(entries.count == 1, "\(audit.standardOutput)")
                #expect(entries.first?["change"] as? String == change, "\(entries)")
                #expect((entries.first?["actor"] as? String)?.hasPrefix("cli:") == true)
            }
            let rows = try await queue.labelledRows(on: harness.redis)
            #expect(rows.count == 1 + more.count)
            #expect(rows.filter(\.fraud).count == 1 + more.count - 1)

            // The next training trains on them: the same world gives that many more training rows, and live state stays.
            let world = ["--users", "200", "--days", "3", "--trees", "10"]
            let plain = try await FraudStreamBinary.run(["train", "--no-labels"] + world + redisArguments)
            #expect(plain.status == 0, "\(plain.standardError)")
            let withoutLabels = try await ModelStore(namespace: "fraud").load(on: harness.redis).metrics.trainingRows
            let train = try await FraudStreamBinary.run(["train"] + world + redisArguments)
            #expect(train.status == 0, "\(train.standardError)")
            #expect(train.standardOutput.contains("labels      \(rows.count) labelled reviews (\(rows.count - 1) fraud) join the training rows"),
                    "\(train.standardOutput)")
            let withLabels = try await ModelStore(namespace: "fraud").load(on: harness.redis).metrics.trainingRows
            #expect(withLabels == withoutLabels + rows.count)
            // prepare --retrain does the same, once told it may rebuild this namespace's feature state.
            let prepare = try await FraudStreamBinary.run(["prepare", "--retrain", "--reset-state"] + world + redisArguments)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            #expect(prepare.standardOutput.contains("retrain     \(rows.count) labelled reviews (\(rows.count - 1) fraud) join the training rows"),
                    "\(prepare.standardOutput)")
            #expect(try await ModelStore(namespace: "fraud").load(on: harness.redis).metrics.trainingRows == withLabels)
        }
    }
}
