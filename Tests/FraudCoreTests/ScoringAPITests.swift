import Foundation
import FraudServer
import RedisClient
import Testing

@testable import FraudCore

@Suite("Scoring API (fraudstream serve) against a real redis-server")
struct ScoringAPITests {
    typealias Harness = ScoringAPIHarness

    @Test func scoresATransactionAndRecordsItOnTheResultsStreamAsApi() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let reply = try await client.request(.POST, "/v1/score", json: Harness.transaction("t-1"))
            #expect(reply.status == 200, "\(reply.text)")
            let body = try Harness.object(reply)
            #expect(body["transaction_id"] as? String == "t-1")
            #expect(["approve", "review", "decline"].contains(body["decision"] as? String ?? ""))
            let score = try #require(body["score"] as? Double)
            #expect((0...1).contains(score))
            #expect(body["model_version"] as? Int == 1)
            #expect(body["degraded"] as? Bool == false)
            #expect(body["replayed"] as? Bool == false)
            #expect(body["reasons"] is [String])
            #expect((body["latency_ms"] as? Double ?? -1) >= 0)
            // Audit: one result marked source=api, counted in the run's statistics.
            try await waitUntil("the decision is recorded") { try await api.results().count == 1 }
            let result = try #require(try await api.results().first)
            #expect(result["source"] == "api")
            #expect(result["transaction_id"] == "t-1")
            #expect(result["worker_id"] == "api-test")
            #expect(result["decision"] == body["decision"] as? String)
            let stats = try await api.redis.send(RedisCommand("HGETALL", "fraud:stats:run:api-run")).stringPairs ?? [:]
            #expect(stats["processed"] == "1")
            #expect(stats["api"] == "1")
            await client.close()
        }
    }

    /// The lanes' Redis I/O on the HTTP event loop (the default) and on a thread per connection decide the same
    /// transactions the same way: same decisions and scores, every one recorded once.
    @Test func redisIOOnTheEventLoopAndOnThreadsDecideAlike() async throws {
        var answers: [[String]] = []
        // Event times fixed for both runs (without one the API stamps the wall clock, and the windows would depend on
        // how fast a busy machine sends the requests).
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 3_600_000
        for onLoop in [true, false] {
            answers.append(try await Harness.with(configure: { $0.redisIOOnEventLoop = onLoop }) { api in
                let client = try await api.connect()
                var got: [String] = []
                for index in 0..<30 {
                    let body = try Harness.object(try await client.request(
                        .POST, "/v1/score",
                        json: Harness.transaction("io-\(index)", amount: Double(5 + index * 40), extra: "\"timestamp\": \(base + Int64(index) * 7_000)")))
                    got.append("\(body["decision"] as? String ?? "?") \(body["score"] as? Double ?? -1)")
                }
                try await waitUntil("every decision is recorded") { try await api.results().count == 30 }
                await client.close()
                return got
            })
        }
        #expect(answers[0] == answers[1])
        #expect(!answers[0].contains { $0.hasPrefix("?") })
    }

    @Test func aRetryReturnsTheFirstDecisionAndCountsNothingTwice() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let first = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("t-retry", amount: 950)))
            let second = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("t-retry", amount: 950)))
            #expect(second["replayed"] as? Bool == true)
            #expect(first["replayed"] as? Bool == false)
            #expect(second["score"] as? Double == first["score"] as? Double)
            #expect(second["decision"] as? String == first["decision"] as? String)
            #expect(second["reasons"] as? [String] == first["reasons"] as? [String])
            // Features counted once: one window member, running count 1, one audit record.
            let window = try await api.redis.send(RedisCommand("ZCARD", "fraud:{u1}:window"))
            #expect(window.int == 1)
            let state = try await api.redis.send(RedisCommand("HGET", "fraud:{u1}:profile", "state")).bytes
            #expect(state.flatMap { UserFeaturesCall.PackedState($0) }?.transactionCount == 1)
            try await waitUntil("the first decision is recorded") { try await api.results().count == 1 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await api.results().count == 1)
            #expect(api.admission.answerCounts.replayed == 1)
            await client.close()
        }
    }

    @Test func concurrentDuplicatesGetOneDecision() async throws {
        try await Harness.with { api in
            let answers = try await withThrowingTaskGroup(of: (score: Double?, replayed: Bool?).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let client = try await api.connect()
                        let body = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("t-dup", user: 3)))
                        await client.close()
                        return (body["score"] as? Double, body["replayed"] as? Bool)
                    }
                }
                var all: [(score: Double?, replayed: Bool?)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(Set(answers.compactMap(\.score)).count == 1)
            #expect(answers.filter { $0.replayed == false }.count == 1)
            try await waitUntil("the decision is recorded") { try await api.results().count == 1 }
            #expect(try await api.redis.send(RedisCommand("ZCARD", "fraud:{u3}:window")).int == 1)
        }
    }

    @Test func anExplanationsContributionsAddUpToTheScore() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let reply = try await client.request(.POST, "/v1/score?explain=true", json: Harness.transaction("t-explain", amount: 990))
            let body = try Harness.object(reply)
            let explanation = try #require(body["explanation"] as? [String: Any], "\(reply.text)")
            let features = try #require(explanation["features"] as? [String: Double])
            #expect(features.count == FeatureSchema.count)
            #expect(features["amount"] == 990)
            let margin = try #require(explanation["margin"] as? Double)
            let score = try #require(body["score"] as? Double)
            #expect(abs(1 / (1 + exp(-margin)) - score) < 1e-5)
            let top = try #require(explanation["top_contributions"] as? [[String: Any]])
            #expect(!top.isEmpty && top.count <= 5)
            let magnitudes = top.compactMap { ($0["contribution"] as? Double).map(abs) }
            #expect(magnitudes == magnitudes.sorted(by: >))
            // Without the flag there is no explanation.
            let plain = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("t-plain")))
            #expect(plain["explanation"] == nil)
            await client.close()
        }
    }

    @Test func aBatchIsAnsweredInOrderWithPerItemErrors() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let items = [
                Harness.transaction("b-0", user: 4), "{\"transaction_id\": \"b-1\", \"user_id\": \"u5\", \"merchant_id\": \"m\"}",
                Harness.transaction("b-2", user: 6), Harness.transaction("b-3", user: 4),
            ]
            let reply = try await client.request(.POST, "/v1/score/batch", json: "{\"transactions\": [\(items.joined(separator: ","))]}")
            #expect(reply.status == 200, "\(reply.text)")
            let results = try #require(Harness.object(reply)["results"] as? [[String: Any]])
            #expect(results.count == 4)
            #expect(results.map { $0["transaction_id"] as? String } == ["b-0", "b-1", "b-2", "b-3"])
            #expect(results[1]["status"] as? Int == 422)
            #expect(results[1]["message"] as? String == "missing required field 'amount'")
            #expect(results[0]["decision"] != nil && results[2]["decision"] != nil && results[3]["decision"] != nil)
            try await waitUntil("three decisions recorded") { try await api.results().count == 3 }
            // Over the limit: refused whole.
            let many = Array(repeating: Harness.transaction("x"), count: 1_001).joined(separator: ",")
            let tooMany = try await client.request(.POST, "/v1/score/batch", json: "{\"transactions\": [\(many)]}")
            #expect(tooMany.status == 413)
            await client.close()
        }
    }

    @Test func badInputsGetClearErrorsAndNothingCrashes() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            func check(_ path: String, _ body: String, _ status: Int, _ code: String, message: String? = nil) async throws {
                let reply = try await client.request(.POST, path, json: body)
                #expect(reply.status == status, "\(body.prefix(60)) → \(reply.status) \(reply.text)")
                let object = try Harness.object(reply)
                #expect(object["error"] as? String == code, "\(reply.text)")
                if let message { #expect(object["message"] as? String == message) }
            }
            try await check("/v1/score", "{\"transaction_id\": ", 400, "malformed_json")
            try await check("/v1/score", "[1, 2]", 400, "invalid_body")
            try await check("/v1/score", "", 400, "empty_body")
            // The dead-letter stream's reason texts.
            try await check("/v1/score", "{\"transaction_id\": \"a\", \"user_id\": \"u1\", \"merchant_id\": \"m\"}", 422, "missing_field",
                message: "missing required field 'amount'")
            try await check("/v1/score", Harness.transaction("neg", amount: -3), 422, "invalid_amount",
                message: "amount '-3.0' is not a finite decimal > 0")
            try await check("/v1/score", Harness.transaction("secs", extra: "\"timestamp\": 1790812800"), 422, "implausible_timestamp")
            try await check("/v1/score", Harness.transaction("run", run: "bad run!"), 422, "invalid_run_id")
            // JSON of the wrong type is named, not read as 1 or as a missing field.
            let typed = "\"transaction_id\": \"typed\", \"user_id\": \"u1\", \"merchant_id\": \"m\", \"timestamp\": 1790812800000"
            try await check("/v1/score", "{\(typed), \"amount\": true}", 422, "invalid_type", message: "amount must be a number, not a boolean")
            try await check("/v1/score", "{\(typed), \"amount\": {\"v\": 1}}", 422, "invalid_type", message: "amount must be a number, not an object")
            try await check("/v1/score", "{\(typed), \"amount\": [12]}", 422, "invalid_type", message: "amount must be a number, not an array")
            try await check("/v1/score", "{\(typed), \"amount\": 5, \"lat\": false}", 422, "invalid_type", message: "lat must be a number, not a boolean")
            try await check("/v1/score", "{\(typed), \"amount\": 5, \"ip\": {\"v4\": \"1.2.3.4\"}}", 422, "invalid_type",
                message: "ip must be a string, not an object")
            try await check("/v1/score", "{\(typed), \"amount\": 5, \"is_fraud\": [1]}", 422, "invalid_type",
                message: "is_fraud must be 0, 1, true or false, not an array")
            let batch = try await client.request(.POST, "/v1/score/batch", json: "{\"transactions\": [{\(typed), \"amount\": true}]}")
            let item = try #require((Harness.object(batch)["results"] as? [[String: Any]])?.first)
            #expect(item["status"] as? Int == 422)
            #expect(item["message"] as? String == "amount must be a number, not a boolean")
            let huge = "{\"transaction_id\": \"h\", \"pad\": \"" + String(repeating: "x", count: 70_000) + "\"}"
            let tooLarge = try await api.connect()
            let reply = try await tooLarge.request(.POST, "/v1/score", json: huge)
            #expect(reply.status == 413)
            await tooLarge.close()
            let unknown = try await client.request(.GET, "/v1/nothing-here")
            #expect(unknown.status == 404)
            // Still serving.
            let fine = try await client.request(.POST, "/v1/score", json: Harness.transaction("after-bad"))
            #expect(fine.status == 200)
            #expect(try await api.results().filter { $0["transaction_id"] != "after-bad" }.isEmpty)
            await client.close()
        }
    }

    @Test func tutorialEndpointAnswersCleanThenIpBlacklistThenClickSpam() async throws {
        // The tutorial endpoint stamps events with the wall clock; a window of an hour keeps a busy machine,
        // which may take seconds between these requests, from letting the first events expire.
        try await Harness.with(configure: {
            $0.features.clickSpamThreshold = 3
            $0.features.clickSpamWindowSeconds = 3600
        }) { api in
            let client = try await api.connect()
            func tutorial(_ device: String, _ ip: String, _ id: String) async throws -> String {
                let reply = try await client.request(
                    .POST, "/", json: "{\"device_id\": \"\(device)\", \"ip\": \"\(ip)\", \"transaction_id\": \"\(id)\"}")
                #expect(reply.status == 200)
                #expect(reply.header("content-type")?.hasPrefix("text/plain") == true)
                return reply.text
            }
            #expect(try await tutorial("dev-a", "7.7.7.7", "c-1") == "clean")
            _ = try await FeatureStore(namespace: "fraud").addToBlocklist(["7.7.7.7"], on: api.redis)
            #expect(try await tutorial("dev-a", "7.7.7.7", "c-2") == "ip_blacklist")
            // Threshold 3: three events in the window are clean, the fourth is more than the threshold.
            var answers: [String] = []
            for index in 0..<4 { answers.append(try await tutorial("dev-b", "8.8.8.8", "s-\(index)")) }
            #expect(answers == ["clean", "clean", "clean", "click_spam"])
            let counts = try await api.redis.send(RedisCommand("HGETALL", "fraud:tutorial:outcomes")).stringPairs ?? [:]
            #expect(counts == ["clean": "4", "ip_blacklist": "1", "click_spam": "1"])
            await client.close()
        }
    }

    @Test func aPausedRedisGetsADegradedAnswerInTimeAndTheRetryGetsTheSame() async throws {
        // The deadline is short next to the pause and long next to a loaded machine's hiccups; the lanes wait
        // out the pause (no connection dropped), so the degraded answer gets stored once Redis is back.
        try await Harness.with(configure: {
            $0.deadlineMilliseconds = 300
            $0.onTimeout = "decline"
            $0.redisTimeoutMilliseconds = 20_000
        }) { api in
            let client = try await api.connect()
            _ = try await client.request(.POST, "/v1/score", json: Harness.transaction("warm", user: 7))
            // Redis stopped until the answer is in: the answer can only come from the deadline, however slow the machine.
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            let reply = try await client.request(.POST, "/v1/score", json: Harness.transaction("t-slow", user: 8))
            let body = try Harness.object(reply)
            #expect(reply.status == 200)
            #expect(body["degraded"] as? Bool == true)
            #expect(body["decision"] as? String == "decline")
            #expect(body["reasons"] as? [String] == ["degraded"])
            let ready = try await client.request(.GET, "/readyz")
            #expect(ready.status == 503, "\(ready.text)")
            kill(pid, SIGCONT)
            // Once Redis is back, the degraded answer is what is stored and recorded, so a retry gets it too.
            // (Until the recorder stores it, the key holds the lane's claim and a retry is told to retry shortly.)
            try await waitUntil("the degraded decision is stored") {
                let held = try await api.redis.send(RedisCommand("GET", "fraud:{u8}:decision:t-slow")).string
                return held.flatMap { StoredDecision(text: $0) }?.decision != nil
            }
            // The retry's own answer must come from its lane, within the 300 ms deadline: on a machine busy enough to miss
            // that, it is answered degraded at its deadline instead (not replayed), so it is sent again until the lane
            // answers it (a retry changes nothing: the key holds the first decision).
            var retry: [String: Any] = [:]
            try await waitUntil("a retry answered from the decision key", timeout: .seconds(60), pollEvery: .milliseconds(100)) {
                retry = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("t-slow", user: 8)))
                return retry["replayed"] as? Bool == true
            }
            #expect(retry["replayed"] as? Bool == true)
            #expect(retry["degraded"] as? Bool == true)
            #expect(retry["decision"] as? String == "decline")
            try await waitUntil("the degraded decision is recorded") {
                try await api.results().contains { $0["transaction_id"] == "t-slow" && $0["reasons"] == "degraded" }
            }
            #expect(try await client.request(.GET, "/readyz").status == 200)
            #expect(api.admission.answerCounts.degraded >= 1)
            await client.close()
        }
    }

    @Test func aFullQueueAnswers503WithRetryAfter() async throws {
        try await Harness.with(configure: {
            $0.maxInFlight = 2
            $0.deadlineMilliseconds = 200
            $0.redisTimeoutMilliseconds = 20_000
        }) { api in
            let client = try await api.connect()
            // Redis stopped (not paused for a while) until the checks are done, however slow the machine.
            let pid = try #require(api.redisHarness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            kill(pid, SIGSTOP)
            let first = try await client.request(.POST, "/v1/score", json: Harness.transaction("q-1", user: 9))
            let second = try await client.request(.POST, "/v1/score", json: Harness.transaction("q-2", user: 10))
            let third = try await client.request(.POST, "/v1/score", json: Harness.transaction("q-3", user: 11))
            #expect(first.status == 200 && second.status == 200)
            #expect(third.status == 503, "\(third.text)")
            // A batch that could never fit is not "try again later".
            let tooBig = try await client.request(
                .POST, "/v1/score/batch",
                json: "{\"transactions\": [\(Harness.transaction("q-a", user: 13)), \(Harness.transaction("q-b", user: 14)), \(Harness.transaction("q-c", user: 15))]}")
            #expect(tooBig.status == 413, "\(tooBig.text)")
            #expect(third.header("retry-after") == "1")
            #expect(try Harness.object(third)["error"] as? String == "overloaded")
            kill(pid, SIGCONT)
            // When Redis is back the queue drains and requests are scored again.
            try await waitUntil("the queue drains") { api.admission.depth == 0 }
            let later = try await client.request(.POST, "/v1/score", json: Harness.transaction("q-4", user: 12))
            #expect(later.status == 200)
            #expect(api.admission.answerCounts.overloaded == 1)
            await client.close()
        }
    }

    @Test func gracefulShutdownFinishesRequestsInFlightAndRecordsThem() async throws {
        try await Harness.with(configure: { $0.deadlineMilliseconds = 5_000 }) { api in
            _ = try await api.redis.send(RedisCommand("CLIENT", "PAUSE", 500, "ALL"))
            let clients = try await (0..<12).asyncMap { _ in try await api.connect() }
            let answers = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (index, client) in clients.enumerated() {
                        group.addTask {
                            let reply = try await client.request(.POST, "/v1/score", json: Harness.transaction("g-\(index)", user: index))
                            let degraded = try Harness.object(reply)["degraded"] as? Bool
                            return reply.status == 200 && degraded == false ? 1 : 0
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            try await Task.sleep(for: .milliseconds(150))
            try await api.shutDown()
            #expect(try await answers.value == 12)
            let recorded = try await api.results().filter { $0["transaction_id"]?.hasPrefix("g-") == true }
            #expect(recorded.count == 12)
            for client in clients { await client.close() }
        }
    }

    @Test func operationsEndpointsReportHealthReadinessAndTheModel() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let health = try await client.request(.GET, "/healthz")
            #expect(health.status == 200)
            let ready = try Harness.object(try await client.request(.GET, "/readyz"))
            #expect(ready["status"] as? String == "ready")
            #expect(ready["model_version"] as? Int == 1)
            let model = try Harness.object(try await client.request(.GET, "/v1/models/current"))
            #expect(model["version"] as? Int == 1)
            #expect(model["feature_names"] as? [String] == FeatureSchema.names)
            // A promoted model is served from the next batch on.
            _ = try await ModelStore(namespace: "fraud").save(WorkerHarness.tinyModel(seed: 2), promote: true, on: api.redis)
            try await waitUntil("version 2 serves") {
                try Harness.object(try await client.request(.GET, "/v1/models/current"))["version"] as? Int == 2
            }
            let scored = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("after-swap")))
            #expect(scored["model_version"] as? Int == 2)
            await client.close()
        }
    }
}

@Suite("Blocklist management over HTTP and the command line")
struct BlocklistManagementTests {
    typealias Harness = ScoringAPIHarness

    @Test func putAndDeleteChangeWhatScoringAndTheTutorialSee() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            #expect(try Harness.object(try await client.request(.GET, "/v1/blocklist/ip/5.5.5.5"))["blocklisted"] as? Bool == false)
            #expect(try await client.request(.PUT, "/v1/blocklist/ip/5.5.5.5").status == 200)
            #expect(try Harness.object(try await client.request(.GET, "/v1/blocklist/ip/5.5.5.5"))["blocklisted"] as? Bool == true)
            let scored = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("bl-1", ip: "5.5.5.5")))
            #expect((scored["reasons"] as? [String])?.contains("ip_blocklist") == true)
            #expect(try await client.request(.POST, "/", json: "{\"ip\": \"5.5.5.5\", \"device_id\": \"dz\"}").text == "ip_blacklist")
            #expect(try await client.request(.DELETE, "/v1/blocklist/ip/5.5.5.5").status == 200)
            #expect(try await client.request(.DELETE, "/v1/blocklist/ip/5.5.5.5").status == 404)
            let after = try Harness.object(try await client.request(.POST, "/v1/score", json: Harness.transaction("bl-2", ip: "5.5.5.5")))
            #expect((after["reasons"] as? [String])?.contains("ip_blocklist") == false)
            #expect(try await client.request(.POST, "/", json: "{\"ip\": \"5.5.5.5\", \"device_id\": \"dz\"}").text == "clean")
            // The IP prepared with the world is still there.
            #expect(try Harness.object(try await client.request(.GET, "/v1/blocklist/ip/6.6.6.6"))["blocklisted"] as? Bool == true)
            await client.close()
        }
    }

    /// The issue's lie: after sixteen PUTs of one IP its 4-bit counters were saturated, and each DELETE answered
    /// "removed" while GET still said listed. Now a second PUT changes nothing and DELETE answers what it did.
    @Test func repeatedPutsChangeNothingAndDeleteTellsTheTruth() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            var changed: [Bool] = []
            for _ in 0..<16 {
                let put = try await client.request(.PUT, "/v1/blocklist/ip/203.0.113.77")
                #expect(put.status == 200)
                changed.append(try Harness.object(put)["changed"] as? Bool ?? true)
            }
            #expect(changed == [true] + Array(repeating: false, count: 15))
            let delete = try await client.request(.DELETE, "/v1/blocklist/ip/203.0.113.77")
            #expect(delete.status == 200)
            #expect(try Harness.object(delete)["changed"] as? Bool == true)
            let get = try Harness.object(try await client.request(.GET, "/v1/blocklist/ip/203.0.113.77"))
            #expect(get["blocklisted"] as? Bool == false && get["filter_match"] as? Bool == false)
            #expect(try await client.request(.DELETE, "/v1/blocklist/ip/203.0.113.77").status == 404)
            #expect(try await client.request(.GET, "/v1/blocklist/ip/not-an-ip").status == 422)
            await client.close()
        }
    }

    /// IPs are checked on every method (free text is a 422, an IPv6 address is fine), and a list past the filter's
    /// designed capacity says so in the answers.
    @Test func freeTextIsRefusedAndAListPastItsCapacitySaysSo() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            #expect(try await client.request(.PUT, "/v1/blocklist/ip/999.1.1.1").status == 422)
            #expect(try await client.request(.PUT, "/v1/blocklist/ip/drop%20table").status == 422)
            #expect(try await client.request(.DELETE, "/v1/blocklist/ip/not-an-ip").status == 422)
            let v6 = try await client.request(.PUT, "/v1/blocklist/ip/2001:db8::7")
            #expect(v6.status == 200, "\(v6.text)")
            try await FeatureStore(namespace: "fraud").writeBlocklist(
                ["10.0.0.1", "10.0.0.2"], shape: BloomFilterShape(capacity: 2, falsePositiveRate: 0.01), on: api.redis)
            let past = try Harness.object(try await client.request(.PUT, "/v1/blocklist/ip/10.0.0.3"))
            #expect(past["over_capacity"] as? Bool == true, "\(past)")
            let listed = try Harness.object(try await client.request(.GET, "/v1/blocklist/ip/10.0.0.1"))
            #expect(listed["blocklisted"] as? Bool == true && listed["over_capacity"] as? Bool == true, "\(listed)")
            await client.close()
        }
    }

    @Test func commandLineAddsImportsChecksAndRemoves() async throws {
        try await WorkerHarness.with { harness in
            let url = "redis://127.0.0.1:\(harness.server.port)"
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("blocklist-\(UUID().uuidString).txt")
            try "# bad actors\n1.1.1.1\n\n2.2.2.2  # proxy\n".write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let imported = try await FraudStreamBinary.run(["blocklist", "import", file.path, "--redis-url", url])
            #expect(imported.status == 0, "\(imported.standardError)")
            #expect(imported.standardOutput.contains("imported 2 IPs"))
            let check = try await FraudStreamBinary.run(["blocklist", "check", "1.1.1.1", "2.2.2.2", "--redis-url", url])
            #expect(check.status == 0)
            let removed = try await FraudStreamBinary.run(["blocklist", "remove", "1.1.1.1", "--redis-url", url])
            #expect(removed.status == 0)
            let gone = try await FraudStreamBinary.run(["blocklist", "check", "1.1.1.1", "--redis-url", url])
            #expect(gone.status == 1)
            #expect(gone.standardOutput.contains("1.1.1.1 not blocklisted"))
            let notThere = try await FraudStreamBinary.run(["blocklist", "remove", "3.3.3.3", "--redis-url", url])
            #expect(notThere.status == 1)
            let added = try await FraudStreamBinary.run(["blocklist", "add", "4.4.4.4", "--redis-url", url])
            #expect(added.status == 0)
            #expect(try await FeatureStore(namespace: "fraud").isBlocklisted(["4.4.4.4", "2.2.2.2", "6.6.6.6"], on: harness.redis) == [true, true, true])
        }
    }

    @Test func serveRejectsBadFlagsAndUnreachableRedisInOneLine() async throws {
        let badFlag = try await FraudStreamBinary.run(["serve", "--on-timeout", "maybe"])
        #expect(badFlag.status == 64, "\(badFlag.standardError)")
        #expect(badFlag.standardError.split(separator: "\n").count == 1)
        #expect(badFlag.standardError.contains("approve, review, decline") || badFlag.standardError.contains("ON_TIMEOUT"))
        let unreachable = try await FraudStreamBinary.run(["serve", "--redis-url", "redis://127.0.0.1:1", "--port", "0"])
        #expect(unreachable.status != 0)
        #expect(unreachable.standardError.split(separator: "\n").filter { $0.hasPrefix("fraudstream:") }.count == 1, "\(unreachable.standardError)")
    }
}
