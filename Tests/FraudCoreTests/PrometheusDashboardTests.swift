import Foundation
import FraudServer
import RedisClient
import RedisHarness
import Synchronization
import Testing

@testable import FraudCore

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs only under `make test-prometheus`, which installs Debian's `prometheus` first (`make test` skips this
/// suite by name, so it stays fast where Prometheus is absent; here a missing binary is a failure, not a skip).
@Suite("Every dashboard query returns data from a real Prometheus scraping a worker and a server", .serialized)
struct PrometheusDashboardTests {
    static let prometheusBinary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Prometheus's instant query of `expression`: the number of series in the result.
    static func seriesCount(_ expression: String, port: Int) async throws -> Int {
        var components = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/query")!
        components.queryItems = [URLQueryItem(name: "query", value: expression)]
        let (data, _) = try await URLSession.shared.data(from: components.url!)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["status"] as? String == "success", "\(expression): \(String(decoding: data, as: UTF8.self))")
        let result = (object["data"] as? [String: Any])?["result"] as? [[String: Any]] ?? []
        // A series whose value is NaN (a quantile of no observations) is no data either.
        return result.filter { (($0["value"] as? [Any])?.last as? String) != "NaN" }.count
    }

    @Test func dashboardQueriesReturnData() async throws {
        let binary = try #require(Self.prometheusBinary, "prometheus is not installed: run make test-prometheus, which installs Debian's prometheus")
        try await ScoringAPIHarness.with { api in
            let harness = api.redisHarness
            let listener = MetricsTests.Listener()
            var configuration = harness.configuration()
            configuration.batchSize = 50
            try await harness.withWorker(configuration, metricsEndpoint: listener.endpoint()) { _ in
                _ = try await listener.scrape()
                let workerPort = try #require(listener.port.withLock { $0 })
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-prometheus-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let config = directory.appendingPathComponent("prometheus.yml")
                // serve's /metrics needs a key with the read scope: Prometheus reads it from a file.
                let keyFile = directory.appendingPathComponent("api-key").path
                try api.apiKey.write(toFile: keyFile, atomically: true, encoding: .utf8)
                try GrafanaDashboard.prometheusConfiguration(
                    targets: ["127.0.0.1:\(workerPort)", "127.0.0.1:\(api.port)"], intervalSeconds: 1, credentialsFile: keyFile
                ).write(to: config, atomically: true, encoding: .utf8)
                let prometheusPort = try RedisServer.freePort()
                let prometheus = Process()
                prometheus.executableURL = URL(fileURLWithPath: binary)
                prometheus.arguments = [
                    "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
                    "--web.listen-address=127.0.0.1:\(prometheusPort)", "--log.level=warn",
                ]
                prometheus.standardOutput = FileHandle.nullDevice
                prometheus.standardError = FileHandle.nullDevice
                try prometheus.run()
                defer {
                    prometheus.terminate()
                    prometheus.waitUntilExit()
                }

                // Traffic while Prometheus scrapes: stream entries (a malformed one each round), API requests.
                let traffic = Task {
                    var round = 0
                    let client = try await api.connect()
                    while !Task.isCancelled {
                        try await harness.publish((0..<100).map { WorkerHarness.fields(round * 100 + $0) }
                            + [[("transaction_id", "broken-\(round)"), ("amount", "lots")]])
                        for index in 0..<5 {
                            _ = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("p-\(round)-\(index)", user: index))
                        }
                        round += 1
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }
                defer { traffic.cancel() }

                // Both targets up, and enough scrapes for rates.
                try await waitUntil("Prometheus scrapes both targets", timeout: .seconds(60), pollEvery: .milliseconds(500)) {
                    (try? await Self.seriesCount("up == 1", port: prometheusPort)) == 2
                }
                try await Task.sleep(for: .seconds(6))
                var empty: [String] = []
                for expression in GrafanaDashboard.expressions {
                    let query = GrafanaDashboard.evaluable(expression, window: "30s")
                    if try await Self.seriesCount(query, port: prometheusPort) == 0 { empty.append(query) }
                }
                #expect(empty.isEmpty, "queries without data: \(empty)")
                #expect(GrafanaDashboard.expressions.count == 21)
                // The dashboard parses as JSON and names the data source as a variable.
                let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(GrafanaDashboard.json().utf8)) as? [String: Any])
                #expect((dashboard["panels"] as? [Any])?.count == GrafanaDashboard.panels.count)
            }
        }
    }
}
