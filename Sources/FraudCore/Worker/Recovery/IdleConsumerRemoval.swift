import Logging
import RedisClient

/// Removes dead consumers from the group at the claim interval, so names of crashed or finished workers
/// do not pile up in `XINFO CONSUMERS` (a clean shutdown leaves the group by itself; a crash cannot).
///
/// A consumer goes when it is idle at least the bound, holds no pending entries (a crashed worker's entries
/// are first taken over by `XAUTOCLAIM`) and has no live lease. `XINFO CONSUMERS` picks the candidates;
/// ``RemoveIdleConsumersCall`` checks the conditions again atomically, since `XGROUP DELCONSUMER` would
/// drop entries a consumer read in between.
struct IdleConsumerRemoval: Sendable {
    /// Input stream, group and namespace.
    let streams: StreamNames
    /// This worker's own consumer name, never a candidate.
    let ownName: String
    /// Least idle time of a consumer that may be removed.
    let minimumIdleMilliseconds: Int
    let logger: Logger

    /// Most consumers removed by one call.
    static let batchLimit = 100

    /// The consumers removed; a failure is logged and removes nothing (the next interval tries again).
    func run(on connection: RedisConnection) async -> [String] {
        do {
            let consumers = try await connection.send(XInfoConsumers(stream: streams.transactions, group: streams.consumerGroup))
            let candidates = consumers.filter { $0.name != ownName && $0.pending == 0 && $0.idleMilliseconds >= minimumIdleMilliseconds }
                .prefix(Self.batchLimit).map(\.name)
            guard !candidates.isEmpty else { return [] }
            let call = RemoveIdleConsumersCall(streams: streams, minimumIdleMilliseconds: minimumIdleMilliseconds)
            let removed = try await ConsumerLease.libraryPolicy.run(
                "removing idle consumers", logger: logger, recover: reloadingLibrary(.lease, on: connection)
            ) { () async throws(RedisError) -> [String] in
                try RemoveIdleConsumersCall.decode(try await connection.send(call.command(consumers: Array(candidates))))
            }
            if !removed.isEmpty {
                logger.info("removed idle consumers with nothing pending", metadata: ["consumers": "\(removed.joined(separator: ","))"])
            }
            return removed
        } catch {
            logger.warning("removing idle consumers failed; will retry at the next claim", metadata: ["error": "\(error)"])
            return []
        }
    }
}
