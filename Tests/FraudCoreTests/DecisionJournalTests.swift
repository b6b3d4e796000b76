import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore
@testable import FraudServer

/// Decisions clients received while Redis was away reach the audit trail once it is back, exactly once: through the
/// server's persisted, bounded decision journal. Against a real redis-server paused with SIGSTOP.
@Suite("Decision journal against a real redis-server")
struct DecisionJournalTests {
    static func batch(_ ids: [String]) -> String {
        "{\"transactions\": [" + ids.enumerated().map { ScoringAPIHarness.transaction($0.element, user: $0.offset % 20) }.joined(separator: ",") + "]}"
    }

    /// Result entries by transaction id.
    static func results(_ redis: RedisConnection) async throws -> [String: [[String: String]]] {
        let reply = try await redis.send(RedisCommand("XRANGE", "fraud:results", "-", "+"))
        let entries = (reply.array ?? []).compactMap { $0.array?[1].stringPairs }
        return Dictionary(grouping: entries, by: { $0["transaction_id"] ?? "" })
    }

    /// The value of `fraudstream_api_journal_recorded_total` in a metrics page (0 before the first increment).
    static func journalRecorded(_ metrics: String) -> Int {
        let prefix = "fraudstream_api_journal_recorded_total "
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Int(Double($0.dropFirst(prefix.count)) ?? 0) } ?? 0
    }

    @Test func degradedAnswersGivenWhileRedisWasPausedAreRecordedOnceItIsBack() async throws {
        try await ScoringAPIHarness.with(configure: { $0.redisTimeoutMilliseconds = 300 }) { api in
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score/batch", json: Self.batch(["before-0", "before-1"])).status == 200)
            // Recorded before Redis stops (a busy machine may still be writing them), so only the ten below are journalled.
            try await waitUntil("the first two are recorded", timeout: .seconds(60)) { try await Self.results(api.redis).count == 2 }
            // On a busy machine one of the first two may itself have missed the Redis timeout and gone through the
            // journal; count only what the outage adds.
            try await waitUntil("the journal to be empty", timeout: .seconds(60)) { api.admission.journal?.count == 0 }
            let recordedBefore = Self.journalRecorded(try await client.request(.GET, "/metrics").text)
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            let during = (0..<10).map { "during-\($0)" }
            let reply = try await client.request(.POST, "/v1/score/batch", json: Self.batch(during))
            #expect(reply.status == 200)
            let answers = try #require(ScoringAPIHarness.object(reply)["results"] as? [[String: Any]])
            #expect(answers.allSatisfy { $0["degraded"] as? Bool == true }, "\(reply.text)")
            let journal = try #require(api.admission.journal)
            #expect(journal.count == 10)
            kill(pid, SIGCONT)
            // Once Redis answers, the journal is recorded: one result each, marked by the reason degraded.
            try await waitUntil("the journal to be recorded", timeout: .seconds(60)) { journal.count == 0 }
            try await waitUntil("the results of every request", timeout: .seconds(60)) {
                try await Self.results(api.redis).count == 12
            }
            let results = try await Self.results(api.redis)
            let given = Dictionary(uniqueKeysWithValues: answers.compactMap { answer in
                (answer["transaction_id"] as? String).map { ($0, answer["latency_ms"] as? Double ?? -1) }
            })
            for id in during {
                #expect(results[id]?.count == 1, "\(id): \(results[id] ?? [])")
                #expect(results[id]?.first?["reasons"]?.contains("degraded") == true)
                // The recorded latency is what the client saw (receipt to answer), not receipt to recording.
                let recorded = Double(results[id]?.first?["latency_ms"] ?? "") ?? -1
                #expect(abs(recorded - (given[id] ?? -1_000)) < 0.1, "\(id): recorded \(recorded) ms, answered in \(given[id] ?? -1) ms")
            }
            // A retry of a journalled id gets the answer the client got, not a new decision. On a busy machine the retry
            // itself may miss the 300 ms Redis timeout and be answered degraded without knowing; it is retried, and such
            // an answer is not recorded as a second decision (the journal sees the first).
            var retry: [String: Any] = [:]
            try await waitUntil("a retry answered from the stored decision", timeout: .seconds(60)) {
                retry = try ScoringAPIHarness.object(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("during-3", user: 3)))
                return retry["replayed"] as? Bool == true
            }
            #expect(retry["degraded"] as? Bool == true)
            try await waitUntil("the journal to be empty again", timeout: .seconds(60)) { journal.count == 0 }
            #expect(try await Self.results(api.redis).values.map(\.count).reduce(0, +) == 12)
            let metrics = try await client.request(.GET, "/metrics").text
            #expect(Self.journalRecorded(metrics) == recordedBefore + 10, "\(metrics)")
            await client.close()
        }
    }

    /// A retry of a decided transaction answered degraded while Redis was away (so it could not learn it was a retry)
    /// is not recorded as a second decision once Redis is back: the first decision stands.
    @Test func aRetryAnsweredWhileRedisWasAwayIsNotRecordedTwice() async throws {
        try await ScoringAPIHarness.with(configure: { $0.redisTimeoutMilliseconds = 300 }) { api in
            let client = try await api.connect()
            let first = try ScoringAPIHarness.object(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("twice-0", user: 1)))
            try await waitUntil("the first decision to be recorded", timeout: .seconds(60)) {
                try await Self.results(api.redis)["twice-0"]?.count == 1 && api.admission.journal?.count == 0
            }
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            // Twice in one batch and once more alone: every answer degraded, all three journalled as one at most per call.
            let batch = "{\"transactions\": [" + ScoringAPIHarness.transaction("twice-0", user: 1) + "," + ScoringAPIHarness.transaction("twice-0", user: 1) + "]}"
            let reply = try await client.request(.POST, "/v1/score/batch", json: batch)
            let answers = try #require(ScoringAPIHarness.object(reply)["results"] as? [[String: Any]])
            #expect(answers.count == 2 && answers.allSatisfy { $0["degraded"] as? Bool == true }, "\(reply.text)")
            let alone = try ScoringAPIHarness.object(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("twice-0", user: 1)))
            #expect(alone["degraded"] as? Bool == true)
            let journal = try #require(api.admission.journal)
            #expect(journal.count == 2, "one per arrival: the batch's repeat shares its first's claim")
            kill(pid, SIGCONT)
            try await waitUntil("the journal to be recorded", timeout: .seconds(60)) { journal.count == 0 }
            let results = try await Self.results(api.redis)["twice-0"] ?? []
            #expect(results.count == 1, "\(results)")
            // The first answer's (on a busy machine it may itself have missed the Redis timeout and been journalled).
            #expect(results.first?["decision"] == first["decision"] as? String)
            #expect(results.first?["reasons"]?.contains("degraded") == (first["degraded"] as? Bool == true), "\(results) \(first)")
            let metrics = try await client.request(.GET, "/metrics").text
            #expect(metrics.contains("fraudstream_api_journal_duplicates_total 2"), "\(metrics)")
            // A retry now gets the first decision (retried while a busy machine makes it miss the Redis timeout).
            var retry: [String: Any] = [:]
            try await waitUntil("a retry answered from the stored decision", timeout: .seconds(60)) {
                retry = try ScoringAPIHarness.object(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("twice-0", user: 1)))
                return retry["replayed"] as? Bool == true
            }
            #expect(retry["decision"] as? String == first["decision"] as? String, "\(retry)")
            await client.close()
        }
    }

    @Test func answersGivenAtTheDeadlineAreRecordedWithTheLatencyTheClientSaw() async throws {
        // Answered at a 100 ms deadline while the lane waits for a paused Redis (up to 5 s): once Redis is back the lane
        // records what the clients got, with their latency, not the time until it could record.
        try await ScoringAPIHarness.with(configure: { $0.redisTimeoutMilliseconds = 5_000; $0.deadlineMilliseconds = 100 }) { api in
            let client = try await api.connect()
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            let ids = (0..<5).map { "late-\($0)" }
            let reply = try await client.request(.POST, "/v1/score/batch", json: Self.batch(ids))
            let answers = try #require(ScoringAPIHarness.object(reply)["results"] as? [[String: Any]])
            #expect(answers.allSatisfy { $0["degraded"] as? Bool == true }, "\(reply.text)")
            try await Task.sleep(for: .seconds(1))
            kill(pid, SIGCONT)
            try await waitUntil("the late answers to be recorded", timeout: .seconds(60)) { try await Self.results(api.redis).count == 5 }
            let answered = answers.compactMap { $0["latency_ms"] as? Double }.max() ?? 0
            for (id, entries) in try await Self.results(api.redis) {
                let recorded = Double(entries.first?["latency_ms"] ?? "") ?? -1
                // At least the second Redis was paused lies between the answers and their recording.
                #expect(recorded <= answered + 500, "\(id): recorded \(recorded) ms, answered within \(answered) ms")
            }
            await client.close()
        }
    }

    @Test func aFullJournalCountsWhatItCouldNotKeep() async throws {
        try await ScoringAPIHarness.with(configure: { $0.redisTimeoutMilliseconds = 300; $0.decisionJournalCapacity = 3 }) { api in
            let client = try await api.connect()
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            #expect(try await client.request(.POST, "/v1/score/batch", json: Self.batch((0..<5).map { "over-\($0)" })).status == 200)
            #expect(api.admission.journal?.count == 3)
            #expect(api.admission.answerCounts.unrecorded == 2)
            let metrics = try await client.request(.GET, "/metrics").text
            #expect(metrics.contains("fraudstream_api_unrecorded_total 2"))
            kill(pid, SIGCONT)
            try await waitUntil("the journal to be recorded", timeout: .seconds(60)) { api.admission.journal?.count == 0 }
            #expect(try await Self.results(api.redis).count == 3)
            await client.close()
        }
    }

    @Test func aServerStoppedDuringAnOutageRecordsItsJournalAfterItsNextStart() async throws {
        try await WorkerHarness.with { harness in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))")
            defer { try? FileManager.default.removeItem(at: folder) }
            let journal = folder.appendingPathComponent("decisions.jsonl").path
            let arguments = [
                "serve", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--port", "0", "--decision-journal", journal,
                "--redis-timeout-ms", "300", "--shutdown-timeout-ms", "1000", "--log-level", "error",
            ]
            let pid = try #require(harness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            let ids = (0..<8).map { "restart-\($0)" }
            let key = try await APIKeyStore(namespace: "fraud").create(name: "t", scopes: [.score], actor: "cli:test", on: harness.redis).secret
            try await ChildProcess.run(arguments) { server in
                try await waitUntil("the server to listen", timeout: .seconds(60)) { server.standardOutput.contains("listening on") }
                let port = try #require(server.standardOutput.firstMatch(of: #/listening on http://[^:]+:(\d+)/#).flatMap { Int($0.1) })
                let client = try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Authorization", "Bearer \(key)")])
                kill(pid, SIGSTOP)
                let reply = try await client.request(.POST, "/v1/score/batch", json: Self.batch(ids))
                #expect(reply.status == 200)
                server.send(SIGTERM)
                _ = try await server.waitForExit(timeout: .seconds(60))
            }
            let kept = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n")
            #expect(kept.count == ids.count)
            kill(pid, SIGCONT)
            #expect(try await Self.results(harness.redis).isEmpty)
            // The next start records them, once.
            try await ChildProcess.run(arguments) { server in
                try await waitUntil("the journal to be recorded after the restart", timeout: .seconds(60)) {
                    try await Self.results(harness.redis).count == ids.count
                }
                server.send(SIGTERM)
                _ = try await server.waitForExit(timeout: .seconds(60))
            }
            let results = try await Self.results(harness.redis)
            #expect(Set(results.keys) == Set(ids))
            #expect(results.values.allSatisfy { $0.count == 1 })
            #expect(try String(contentsOfFile: journal, encoding: .utf8).isEmpty)
        }
    }
}
