import FraudCore
import Foundation

/// The Grafana dashboard for FraudStream's Prometheus metrics, built from one list of panels so the PromQL it
/// uses can be checked against a real Prometheus (`make test-prometheus`). Importable as it is: the Prometheus
/// data source is the dashboard variable `datasource`, chosen on import.
public enum GrafanaDashboard {
    /// One query of a panel.
    public struct Query: Sendable {
        /// PromQL; `$__rate_interval` is Grafana's rate window (``evaluable(_:)`` replaces it).
        public var expression: String
        /// The series' legend.
        public var legend: String
    }

    /// One time-series panel.
    public struct Panel: Sendable {
        /// Title.
        public var title: String
        /// Grafana unit (`ops`, `s`, `percentunit`, `short`).
        public var unit: String
        /// Its queries.
        public var queries: [Query]
        /// What it shows, for the panel's description.
        public var description: String
    }

    private static func q(_ expression: String, _ legend: String) -> Query { Query(expression: expression, legend: legend) }

    private static let scored = FraudMetrics.Name.scored
    private static let window = "[$__rate_interval]"

    /// The panels, in order (two per row).
    public static let panels: [Panel] = [
        Panel(
            title: "Throughput", unit: "ops",
            queries: [q("sum by (source) (rate(\(scored)\(window)))", "{{source}}")],
            description: "Transactions scored per second, by way in (stream = workers, api = serve)."),
        Panel(
            title: "Decisions", unit: "ops",
            queries: [q("sum by (decision) (rate(\(scored)\(window)))", "{{decision}}")],
            description: "Approve, review and decline per second."),
        Panel(
            title: "Fraud rate", unit: "percentunit",
            queries: [
                // `or vector(0)`: no decline at all is a rate of 0, not a gap.
                q("(sum(rate(\(scored){decision=\"decline\"}\(window))) or vector(0)) / sum(rate(\(scored)\(window)))", "declined"),
                q("(sum(rate(\(scored){decision=~\"review|decline\"}\(window))) or vector(0)) / sum(rate(\(scored)\(window)))", "declined or reviewed"),
            ],
            description: "Share of scored transactions declined, and declined or sent to review."),
        Panel(
            title: "Reasons", unit: "ops",
            queries: [q("sum by (reason) (rate(\(FraudMetrics.Name.reasons)\(window)))", "{{reason}}")],
            description: "Reason codes fired per second."),
        Panel(
            title: "End-to-end latency", unit: "s",
            queries: [0.5, 0.99, 0.999].map { quantile in
                q("histogram_quantile(\(quantile), sum by (le) (rate(\(FraudMetrics.Name.endToEnd)_bucket\(window))))", "p\(quantile * 100)")
            },
            description: "From the transaction's arrival in Redis (stream) or the request's receipt (api) to the written decision."),
        Panel(
            title: "Stage latency p99", unit: "s",
            queries: [q("histogram_quantile(0.99, sum by (le, stage) (rate(\(FraudMetrics.Name.stage)_bucket\(window))))", "{{stage}}")],
            description: "Time a batch spends per stage of the worker pipeline (queue, features, scoring, write)."),
        Panel(
            title: "Consumer-group lag and pending", unit: "short",
            queries: [
                q("sum by (group) (\(FraudMetrics.Name.inputLag))", "lag {{group}}"),
                q("sum by (group) (\(FraudMetrics.Name.inputPending))", "pending {{group}}"),
            ],
            description: "Entries not yet delivered to the group, and delivered but not acknowledged."),
        Panel(
            title: "Pipeline occupancy", unit: "short",
            queries: [
                q("sum(\(FraudMetrics.Name.batchesInFlight))", "batches in flight"),
                q("sum by (edge) (\(FraudMetrics.Name.channelDepth))", "waiting {{edge}}"),
                q("histogram_quantile(0.5, sum by (le) (rate(\(FraudMetrics.Name.batchSize)_bucket\(window))))", "median batch size"),
            ],
            description: "Batches between read and acknowledgement, batches waiting between stages, and the batch size."),
        Panel(
            title: "Errors", unit: "ops",
            queries: [
                q("sum by (class) (rate(\(FraudMetrics.Name.deadLetters)\(window)))", "dead letters {{class}}"),
                q("sum by (status) (rate(\(FraudMetrics.Name.apiRequests)\(window)))", "API {{status}}"),
                q("sum(rate(\(FraudMetrics.Name.apiDegraded)\(window)))", "API degraded answers"),
            ],
            description: "Dead-lettered entries by class, API responses by status, answers given degraded at the deadline."),
        Panel(
            title: "Redis reconnects, retries, model", unit: "short",
            queries: [
                q("sum(increase(\(FraudMetrics.Name.redisReconnects)\(window)))", "reconnects"),
                q("sum(increase(\(FraudMetrics.Name.redisRetries)\(window)))", "retries"),
                q("sum(increase(\(FraudMetrics.Name.modelSwaps)\(window)))", "model swaps"),
                q("max by (version) (\(FraudMetrics.Name.modelInfo))", "model {{version}}"),
            ],
            description: "Recoveries of the Redis client, model swaps, and the model version served."),
    ]

    /// Every PromQL expression of the dashboard.
    public static var expressions: [String] { panels.flatMap { $0.queries.map(\.expression) } }

    /// `expression` as Prometheus's own API evaluates it: Grafana's `$__rate_interval` becomes `window`.
    public static func evaluable(_ expression: String, window: String = "1m") -> String {
        expression.replacingOccurrences(of: "$__rate_interval", with: window)
    }

    /// The dashboard as Grafana's JSON model (schema 39), pretty-printed.
    public static func json() -> String {
        let datasource: [String: Any] = ["type": "prometheus", "uid": "${datasource}"]
        var panelObjects: [[String: Any]] = []
        for (index, panel) in panels.enumerated() {
            let targets = panel.queries.enumerated().map { offset, query -> [String: Any] in
                ["datasource": datasource, "expr": query.expression, "legendFormat": query.legend, "refId": String(UnicodeScalar(65 + offset)!)]
            }
            panelObjects.append([
                "id": index + 1, "type": "timeseries", "title": panel.title, "description": panel.description, "datasource": datasource,
                "gridPos": ["h": 8, "w": 12, "x": (index % 2) * 12, "y": (index / 2) * 8],
                "fieldConfig": ["defaults": ["unit": panel.unit, "custom": ["lineWidth": 1, "fillOpacity": 10]], "overrides": [Any]()],
                "options": ["legend": ["displayMode": "list", "placement": "bottom"], "tooltip": ["mode": "multi"]],
                "targets": targets,
            ])
        }
        let dashboard: [String: Any] = [
            "title": "FraudStream", "uid": "fraudstream", "schemaVersion": 39, "version": 1, "editable": true,
            "tags": ["fraudstream", "redis", "fraud"], "timezone": "browser", "refresh": "10s",
            "time": ["from": "now-1h", "to": "now"],
            "templating": [
                "list": [[
                    "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
                    "current": [String: Any](), "hide": 0, "refresh": 1,
                ]],
            ],
            "panels": panelObjects,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: dashboard, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A Prometheus configuration that scrapes `targets` (`host:port`: workers' `--metrics-port`, serve's port)
    /// every `intervalSeconds`.
    public static func prometheusConfiguration(targets: [String], intervalSeconds: Int = 5, credentialsFile: String? = nil) -> String {
        let list = targets.map { "\"\($0)\"" }.joined(separator: ", ")
        // serve's /metrics needs an API key with the read scope (workers' listeners ignore the header).
        let authorization = credentialsFile.map { "\n    authorization:\n      credentials_file: \"\($0)\"" } ?? ""
        return """
            # Prometheus scrape configuration for FraudStream (fraudstream observability prometheus-config).
            # Workers serve /metrics on --metrics-port (child i of --workers N on port+i-1); serve on its own port.
            global:
              scrape_interval: \(intervalSeconds)s
              evaluation_interval: \(intervalSeconds)s
            scrape_configs:
              - job_name: fraudstream
                metrics_path: /metrics\(authorization)
                static_configs:
                  - targets: [\(list)]

            """
    }
}
