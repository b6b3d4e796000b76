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
