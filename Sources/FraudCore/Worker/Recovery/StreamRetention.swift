import Logging
import RedisClient
import ServiceLifecycle

/// Keeps the input stream bounded without ever dropping a transaction that is not yet processed.
///
/// Producers `XADD` without a cap (a `MAXLEN` there could delete entries no worker has read). Once
/// the stream is longer than `MAX_STREAM_LENGTH`, this service trims (`XTRIM MINID ~`) the entries that
/// every consumer group of the stream has both read and acknowledged: below each group's oldest
/// pending entry, and no later than its last delivered one.
public struct StreamRetention: Service {
    let connection: RedisConnection
    let stream: String
    let maximumLength: Int
    let intervalMilliseconds: Int
    let logger: Logger

    /// Checks every interval until graceful shutdown.
    public func run() async {
        guard maximumLength > 0 else {
            // Disabled: stay up until shutdown, as returning early would end the worker's service group.
            try? await gracefulShutdown()
            return
        }
        var outage = OutageLog("input stream retention")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            do {
                if let removed = try await trimOnce(), removed > 0 {
                    logger.debug("trimmed acknowledged input entries", metadata: ["removed": "\(removed)"])
                }
                outage.succeeded(logger: logger)
            } catch {
                outage.failed(error, logger: logger)
            }
        }
    }

    /// One check; returns how many entries were trimmed, or `nil` when the stream is within bounds.
    func trimOnce() async throws(RedisError) -> Int? {
        let lengthCommand = RedisCommand("XLEN", stream)
        let groupsCommand = XInfoGroups(stream: stream)
        let overview = try await connection.pipeline([lengthCommand, groupsCommand.command])
        guard let length = try overview[0].get().int, length > maximumLength else { return nil }
        let groups = try groupsCommand.decode(slot: overview[1])
        guard !groups.isEmpty else { return nil }
        // Nothing a group has not yet read, and nothing still pending in any group, may go.
        var bounds = groups.map(\.lastDeliveredId)
        let summaries = groups.filter { $0.pending > 0 }.map { XPendingSummary(stream: stream, group: $0.name) }
        if !summaries.isEmpty {
            let replies = try await connection.pipeline(summaries.map(\.command))
            for (summary, reply) in zip(summaries, replies) {
                if let oldest = try summary.decode(slot: reply).smallestId { bounds.append(oldest) }
            }
        }
        guard let safe = StreamID.bounds(of: bounds)?.lowest else { return nil }
        return try await connection.send(RedisCommand("XTRIM", stream, "MINID", "~", safe)).int
    }
}
