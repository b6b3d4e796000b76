import FraudCore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A small HTTP listener serving only `GET /metrics`, for processes without an API of their own (`worker
/// --metrics-port`). A service of the worker's group: it starts first and stops last, so a drain is scrapeable.
public struct MetricsEndpoint: Service {
    private let application: Application<RouterResponder<BasicRequestContext>>

    /// Listens on `host:port` (port 0: any free port, reported to `onListening`).
    public init(
        metrics: FraudMetrics, host: String, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let router = Router()
        MetricsRoutes(metrics: metrics).add(to: router)
        application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "fraudstream-metrics"),
            onServerRunning: { channel in
                logger.info("metrics listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onListening(channel.localAddress?.port ?? 0)
            },
            logger: logger)
    }

    /// Serves until the group shuts down.
    public func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError {
            throw FraudError(.invalidSetting, "the metrics listener could not start: \(error.description)")
        }
    }
}
