import Logging
import RedisClient
import ServiceLifecycle

/// Renews the worker's ``ConsumerLease`` until graceful shutdown, on its own connection so a slow call
/// elsewhere never delays a renewal.
///
/// It is the first service of the worker's group, so it is shut down last: the lease is held while the
/// pipeline drains, and ``Worker/Assembly/run()`` releases it after the worker has left the group. When a
/// renewal finds the name under another token (this process was paused longer than the TTL and another
/// worker took the name), it logs an error and throws ``FraudError/Code/leaseLost``, which shuts the group
/// down gracefully: the consumer stops reading and the worker exits non-zero.
public struct LeaseKeeper: Service {
    let lease: ConsumerLease
    let connection: RedisConnection
    let renewIntervalMilliseconds: Int
    let logger: Logger

    /// Renews until graceful shutdown; throws when the lease is lost.
    public func run() async throws {
        var state = LeaseRenewalState(renewIntervalMilliseconds: renewIntervalMilliseconds)
        var action = state.first
        while case .renew(let wait) = action {
            await gracefulShutdownAwareSleep(milliseconds: wait)
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                let outcome = try await lease.claim(on: connection, logger: logger)
                if outcome == .taken {
                    logger.warning("consumer-name lease had expired or vanished; taken again", metadata: ["key": "\(lease.key)"])
                }
                action = state.renewed(outcome)
            } catch {
                if Task.isCancelled { return }
                action = state.failed()
                logger.warning(
                    "renewing the consumer-name lease failed; retrying",
                    metadata: ["error": "\(error)", "failures": "\(state.consecutiveFailures)"])
            }
        }
        guard case .stop(let remaining) = action else { return }
        let expiry = remaining.map { "its lease expires in \(($0 + 999) / 1000) s" } ?? "its lease has no expiry"
        let message = "lost consumer name '\(lease.consumer)' to another worker (\(expiry)); stopping"
        logger.error("\(message)", metadata: ["key": "\(lease.key)"])
        throw FraudError(.leaseLost, message)
    }
}
