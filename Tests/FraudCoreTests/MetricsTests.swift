import Foundation
import FraudServer
import Logging
import RedisClient
import RedisHarness
import ServiceLifecycle
import Synchronization
import Testing

@testable import FraudCore

@Suite("Prometheus metrics of a real worker and a real server")
struct MetricsTests {
    /// Starts the worker's metrics listener on a free port and returns its scraper.
    final class Listener: Sendable {
        let port = Mutex<Int?>(nil)

        func endpoint() -> @Sendable (FraudMetrics) -> any Service {
            { metrics in
                MetricsEndpoint(metrics: metrics, host: "127.0.0.1", port: 0, logger: WorkerHarness.quietLogger) { port in
                    self.port.withLock { $0 = port }
                }
            }
        }

        func scrape() async throws -> PrometheusText {
            try await waitUntil("the metrics listener listens") { self.port.withLock { $0 } != nil }
            let connection = try await HTTPConnection.connect(host: "127.0.0.1", port: port.withLock { $0 } ?? 0)
            defer { Task { await connection.close() } }
            let reply = try await connection.request(.GET, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            return PrometheusText(reply.text)
        }
    }

    /// A valid transaction of a user seen nowhere else, always with the same amount, merchant and place, so
    /// every one of them fires the same reasons.
    static func newUser(_ index: Int, prefix: String) -> [(String, String)] {
        [
            ("transaction_id", "\(prefix)-tx-\(index)"), ("user_id", "\(prefix)-user-\(index)"), ("amount", "25"),
            ("merchant_id", "m1"), ("timestamp", String(1_790_812_800_000 + Int64(index))), ("lat", "40.5"), ("lon", "-74.1"),
            ("ip", "10.\(index / 65_536 % 256).\(index / 256 % 256).\(index % 256)"), ("device_id", "\(prefix)-device-\(index)"),
            ("run_id", "metrics-run"),
        ]
    }

    @Test func workerCountersEqualTheResultsWrittenAndLabelsStayBounded() async throws {
        try await WorkerHarness.with { harness in
            let valid = 1_200
            try await harness.publish((0..<valid).map { WorkerHarness.fields($0) })
            try await harness.publish((0..<3).map { [("transaction_id", "broken-\($0)"), ("amount", "lots")] })
            var configuration = harness.configuration()
            configuration.batchSize = 100
            let listener = Listener()
            try await harness.withWorker(configuration, metricsEndpoint: listener.endpoint()) { _ in
                try await waitUntil("everything is written") {
                    let written = try await harness.length("fraud:results")
                    let dead = try await harness.length("fraud:dead_letters")
                    return written == valid && dead == 3
                }
                // The counters move after the write call returns, and the group gauges are sampled at most once a
                // second: wait until the scrape is quiescent, then every figure must be exact.
                var metrics = try await listener.scrape()
                try await waitUntil("the metrics to count every result and acknowledgement", timeout: .seconds(60)) {
                    metrics = try await listener.scrape()
                    return metrics.sum(FraudMetrics.Name.scored) >= Double(valid) && metrics.sum(FraudMetrics.Name.deadLetters) >= 3
                        && metrics.sum(FraudMetrics.Name.inputPending) == 0 && metrics.sum(FraudMetrics.Name.inputLag) == 0
                }
                let results = try await harness.entries("fraud:results")

                // Counters equal what was written, per decision and per reason.
                #expect(metrics.sum(FraudMetrics.Name.scored, ["source": "stream"]) == Double(valid))
                let expected = TimeSeriesTests.expectedCounts(results, deadLetters: 3)
                for decision in ["approve", "review", "decline"] {
                    #expect(metrics.sum(FraudMetrics.Name.scored, ["decision": decision]) == Double(expected[decision] ?? 0), "\(decision)")
                }
                for (metric, count) in expected where metric.hasPrefix("reason:") {
                    let reason = String(metric.dropFirst("reason:".count))
                    #expect(metrics.sum(FraudMetrics.Name.reasons, ["reason": reason]) == Double(count), "\(reason)")
                }
                #expect(metrics.sum(FraudMetrics.Name.deadLetters) == 3)
                // Each rule's precision from the metrics: its reasons on labelled results, by label.
                for (metric, count) in expected where metric.hasPrefix("reason:") {
                    let reason = String(metric.dropFirst("reason:".count))
                    let labelledFraud = results.filter { result in
                        (result["reasons"] ?? "").split(separator: ",").contains(Substring(reason))
                            && (Int((result["transaction_id"] ?? "tx-1").dropFirst(3)) ?? 1) % 10 == 0
                    }.count
                    #expect(metrics.sum(FraudMetrics.Name.labelledReasons, ["reason": reason, "label": "fraud"]) == Double(labelledFraud), "\(reason)")
                    #expect(metrics.sum(FraudMetrics.Name.labelledReasons, ["reason": reason]) == Double(count), "\(reason)")
                }
                #expect(metrics.sum(FraudMetrics.Name.deadLetters, ["class": "missing_field"]) == 3)
                // monitor --stats reads the same counts (the run's statistics, written in the same call as the results).
                let run = try await RunStatistics.load(run: "run-test", namespace: "fraud", on: harness.redis)
                #expect(Double(run.processed) == metrics.sum(FraudMetrics.Name.scored))
                for decision in ["approve", "review", "decline"] {
                    #expect(Double(run.counters[decision] ?? 0) == metrics.sum(FraudMetrics.Name.scored, ["decision": decision]), "\(decision)")
                }
                let unnamed = try await RunStatistics.load(run: "none", namespace: "fraud", on: harness.redis)
                #expect(Double(unnamed.counters["dead_letters"] ?? 0) == metrics.sum(FraudMetrics.Name.deadLetters))
                // Histograms have observations: one end-to-end latency per result, one stage time per batch.
                #expect(metrics.sum(FraudMetrics.Name.endToEnd + "_count") == Double(valid))
                let batches = metrics.sum(FraudMetrics.Name.batchSize + "_count")
                #expect(batches >= Double(valid / 100))
                #expect(metrics.sum(FraudMetrics.Name.batchSize + "_sum") == Double(valid + 3))
                for stage in ["queue", "features", "scoring", "write"] {
                    #expect(metrics.sum(FraudMetrics.Name.stage + "_count", ["stage": stage]) == batches, "\(stage)")
                }
                #expect(metrics.sum(FraudMetrics.Name.endToEnd + "_bucket", ["le": "+Inf"]) == Double(valid))
                // Gauges: the model served, nothing left in the group.
                #expect(metrics.sum(FraudMetrics.Name.modelInfo, ["version": "1"]) == 1)
                #expect(metrics.sum(FraudMetrics.Name.inputPending) == 0)
                #expect(metrics.sum(FraudMetrics.Name.inputLag) == 0)
                #expect(metrics.named(FraudMetrics.Name.channelDepth).count == PipelineCounters.Edge.allCases.count)
                #expect(metrics.named(FraudMetrics.Name.redisReconnects).count == 1)

                // Bounded labels: 1,000 new users, then 10,000 more, add no series the first thousand did not.
                try await harness.publish((0..<1_000).map { Self.newUser($0, prefix: "a") })
                try await waitUntil("the first new users are written") { try await harness.length("fraud:results") == valid + 1_000 }
                try await waitUntil("the metrics to count them") {
                    try await listener.scrape().sum(FraudMetrics.Name.scored) >= Double(valid + 1_000)
                }
                let before = try await listener.scrape().series
                try await harness.publish((0..<10_000).map { Self.newUser($0, prefix: "b") })
                try await waitUntil("10,000 more users are written", timeout: .seconds(120)) {
                    try await harness.length("fraud:results") == valid + 11_000
                }
                var after = try await listener.scrape()
                try await waitUntil("the metrics to count the 11,000 new users' results", timeout: .seconds(60)) {
                    after = try await listener.scrape()
                    return after.sum(FraudMetrics.Name.scored) >= Double(valid + 11_000)
                }
                #expect(after.series == before, "new series: \(after.series.subtracting(before).sorted())")
                #expect(after.sum(FraudMetrics.Name.scored) == Double(valid + 11_000))
                #expect(!after.samples.contains { sample in sample.labels.values.contains { $0.contains("-user-") || $0.contains("-tx-") || $0.contains("-device-") || $0.hasPrefix("10.0.") } })
            }
        }
    }

    @Test func serverCountsRequestsByRoutePatternAndDecisionsAsRecorded() async throws {
        try await ScoringAPIHarness.with { api in
            let client = try await api.connect()
            let requests = 30
            for index in 0..<requests {
                // Labelled, as a load test's are: each rule's precision is counted for the API as for the worker.
                let label = index % 3 == 0 ? "\"is_fraud\": \"1\", \"fraud_scenario\": \"card_testing\"" : "\"is_fraud\": \"0\""
                // Every fifth from the blocklisted address: a reason that fires however slowly a busy machine sends them
                // (click_spam needs ten from one device within five seconds).
                let ip = index % 5 == 0 ? "6.6.6.6" : "10.0.0.1"
                let reply = try await client.request(
                    .POST, "/v1/score", json: ScoringAPIHarness.transaction("m-\(index)", user: index % 20, ip: ip, extra: label))
                #expect(reply.status == 200)
            }
            #expect(try await client.request(.POST, "/v1/score", json: "{\"transaction_id\": 1").status == 400)
            #expect(try await client.request(.PUT, "/v1/blocklist/ip/203.0.113.9").status < 300)
            try await waitUntil("every decision is recorded") { try await api.results().count == requests }

            let scraped = try await client.request(.GET, "/metrics")
            #expect(scraped.status == 200)
            let metrics = PrometheusText(scraped.text)
            #expect(metrics.sum(FraudMetrics.Name.apiRequests, ["endpoint": "/v1/score", "status": "200"]) == Double(requests))
            #expect(metrics.sum(FraudMetrics.Name.apiRequests, ["endpoint": "/v1/score", "status": "400"]) == 1)
            #expect(metrics.sum(FraudMetrics.Name.apiDuration + "_count", ["endpoint": "/v1/score"]) == Double(requests + 1))
            // The blocklist route is counted under its pattern: the address is not a label.
            let blocklist = metrics.named(FraudMetrics.Name.apiRequests).filter { $0.labels["endpoint"]?.hasPrefix("/v1/blocklist/ip/") == true }
            #expect(blocklist.count == 1)
            #expect(!metrics.samples.contains { $0.labels.values.contains { $0.contains("203.0.113.9") } })
            // Decisions as recorded in the results stream.
            let results = try await api.results()
            #expect(metrics.sum(FraudMetrics.Name.scored, ["source": "api"]) == Double(results.count))
            for decision in ["approve", "review", "decline"] {
                let count = results.filter { $0["decision"] == decision }.count
                #expect(metrics.sum(FraudMetrics.Name.scored, ["source": "api", "decision": decision]) == Double(count), "\(decision)")
            }
            #expect(metrics.sum(FraudMetrics.Name.endToEnd + "_count", ["source": "api"]) == Double(requests))
            // Per-rule precision and the stages, as the worker reports them.
            var reasonHits: [String: Int] = [:]
            for result in results { for reason in (result["reasons"] ?? "").split(separator: ",") { reasonHits[String(reason), default: 0] += 1 } }
            #expect(reasonHits["ip_blocklist"] == requests / 5, "\(results.map { ($0["decision"] ?? "", $0["reasons"] ?? "") })")
            for (reason, hits) in reasonHits {
                #expect(metrics.sum(FraudMetrics.Name.labelledReasons, ["source": "api", "reason": reason]) == Double(hits), "\(reason)")
            }
            #expect(metrics.sum(FraudMetrics.Name.stage + "_count", ["stage": "features"]) == Double(requests))
            #expect(metrics.sum(FraudMetrics.Name.stage + "_count", ["stage": "scoring"]) == Double(requests))
            // Recall per scenario in the run statistics, as for the stream.
            let run = try await RunStatistics.load(run: "api-run", namespace: "fraud", on: api.redis)
            #expect(run.counters["scenario:card_testing"] == 10, "\(run.counters)")
            #expect(metrics.sum(FraudMetrics.Name.apiDegraded) == 0)
            #expect(metrics.sum(FraudMetrics.Name.modelInfo) == 1)
            await client.close()
        }
    }

    @Test func workerCommandServesMetricsOnItsPortAndRefusesABadOne() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<20).map { WorkerHarness.fields($0) })
            let port = try RedisServer.freePort()
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
            try await ChildProcess.run(
                ["worker", "--consumer-name", "metrics-cli", "--block-ms", "100", "--log-level", "warning", "--metrics-port", String(port)]
                    + redisArguments
            ) { worker in
                try await harness.waitForLength("fraud:results", atLeast: 20)
                var text = ""
                try await waitUntil("the worker's metrics listener answers") {
                    guard let connection = try? await HTTPConnection.connect(host: "127.0.0.1", port: port) else { return false }
                    defer { Task { await connection.close() } }
                    text = (try? await connection.request(.GET, "/metrics").text) ?? ""
                    return PrometheusText(text).sum(FraudMetrics.Name.scored) == 20
                }
                #expect(PrometheusText(text).sum(FraudMetrics.Name.modelInfo) == 1)
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            let bad = try await FraudStreamBinary.run(["worker", "--metrics-port", "70000"] + redisArguments)
            #expect(bad.status == 64)
            #expect(bad.standardError.contains("70000") && bad.standardError.split(separator: "\n").count == 1, "\(bad.standardError)")
        }
    }
}
