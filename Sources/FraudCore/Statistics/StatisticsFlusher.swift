import Logging
import RedisClient
import ServiceLifecycle

/// Flushes ``WorkerStatistics`` periodically; the last service to stop, so its final flush
/// happens after the writer has drained.
public struct StatisticsFlusher: Service {
    let statistics: WorkerStatistics
    let connection: RedisConnection
    let intervalMilliseconds: Int
    let logger: Logger

    /// Creates a flusher of `statistics` every `intervalMilliseconds` on `connection`.
    public init(statistics: WorkerStatistics, connection: RedisConnection, intervalMilliseconds: Int, logger: Logger) {
        self.statistics = statistics
        self.connection = connection
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Flushes every interval until graceful shutdown, then once more.
    public func run() async {
        var outage = OutageLog("statistics flush")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            await flushLogging(&outage)
        }
        await flushLogging(&outage)
    }

    private func flushLogging(_ outage: inout OutageLog) async {
        do {
            try await statistics.flush(on: connection)
            outage.succeeded(logger: logger)
        } catch {
            outage.failed(error, logger: logger)
        }
    }
}
