import ArgumentParser
import FraudServer

/// Prints what a monitoring stack needs to watch FraudStream: the Grafana dashboard and a Prometheus configuration.
struct ObservabilityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observability",
        abstract: "Print the Grafana dashboard or a Prometheus scrape configuration for FraudStream's metrics.",
        discussion: """
            Metrics: a worker with --metrics-port P serves GET /metrics on P; fraudstream serve serves GET /metrics on its \
            own port. Save the dashboard and import it in Grafana (Dashboards → New → Import); it asks for the Prometheus \
            data source.
            """,
        subcommands: [Dashboard.self, PrometheusConfig.self]
    )

    struct Dashboard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grafana-dashboard", abstract: "Print the Grafana dashboard (JSON, importable; the data source is a variable).")

        func run() { print(GrafanaDashboard.json()) }
    }

    struct PrometheusConfig: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prometheus-config", abstract: "Print a prometheus.yml that scrapes FraudStream workers and servers.")

        @Option(name: .customLong("target"), help: "host:port to scrape; repeat for each worker and server (default: 127.0.0.1:9464, a worker with --metrics-port 9464, and 127.0.0.1:8080, serve).")
        var targets: [String] = []
        @Option(help: "Scrape interval in seconds.") var interval = 5
        @Option(help: "A file holding an API key with the read scope, for serve's /metrics (fraudstream apikeys create --name prometheus --scope read).")
        var apiKeyFile: String?

        func validate() throws {
            if interval < 1 { throw ValidationError("--interval must be >= 1") }
            for target in targets where target.split(separator: ":").count != 2 || Int(target.split(separator: ":").last ?? "") == nil {
                throw ValidationError("--target \(target): expected host:port")
            }
        }

        func run() {
            print(
                GrafanaDashboard.prometheusConfiguration(
                    targets: targets.isEmpty ? ["127.0.0.1:9464", "127.0.0.1:8080"] : targets, intervalSeconds: interval, credentialsFile: apiKeyFile),
                terminator: "")
        }
    }
}
