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
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            do {
                if let removed = try await trimOnce(), removed > 0 {
                    logger.debug("trimmed acknowledged input entries", metadata: ["removed": "\(removed)"])
                }
            } catch {
                logger.warning("input stream retention failed; will retry", metadata: ["error": "\(error)"])
            }
        }
    }

    /// One check; returns how many entries were trimmed, or `nil` when the stream is within bounds.
    func trimOnce() async throws(RedisError) -> Int? {
        let overview = try await connection.pipeline([RedisCommand("XLEN", stream), RedisCommand("XINFO", "GROUPS", stream)])
        guard let length = try overview[0].get().int, length > maximumLength else { return nil }
        guard let groups = try overview[1].get().array, !groups.isEmpty else { return nil }
        var bounds: [String] = []
        var pendingGroups: [String] = []
        for group in groups {
            guard let fields = group.stringPairs, let name = fields["name"], let delivered = fields["last-delivered-id"] else {
                return nil
            }
            bounds.append(delivered)
            if (Int(fields["pending"] ?? "0") ?? 0) > 0 { pendingGroups.append(name) }
        }
        if !pendingGroups.isEmpty {
            let summaries = try await connection.pipeline(pendingGroups.map { RedisCommand("XPENDING", stream, $0) })
            for summary in summaries {
                // [count, smallest id, largest id, consumers]; the smallest pending entry must stay.
                if let oldest = try summary.get().array?[1].string { bounds.append(oldest) }
            }
        }
        let safe = StreamEntry.idBounds(bounds).lowest
        return try await connection.send(RedisCommand("XTRIM", stream, "MINID", "~", safe)).int
    }
}
