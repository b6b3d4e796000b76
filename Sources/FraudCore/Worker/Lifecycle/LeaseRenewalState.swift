/// Decides, renewal by renewal, when the consumer-name lease is renewed next and when it is lost.
///
/// A value type whose events return actions, tested without Redis. After a renewal the next one comes a
/// renewal interval later (a third of the TTL by default, so two renewals may fail before the lease
/// expires); after a failed call (Redis unreachable, a timeout) it is tried again sooner, never later than
/// the interval. Only a lease found under another token is lost: a lease that expired while Redis was
/// unreachable, or vanished with a restarted Redis, is taken again by the next renewal, as nobody else
/// holds the name then.
public struct LeaseRenewalState: Sendable, Equatable {
    /// Milliseconds between renewals.
    public let renewIntervalMilliseconds: Int
    /// Milliseconds before trying again after a failed call.
    public let retryIntervalMilliseconds: Int
    /// Consecutive failed calls.
    public private(set) var consecutiveFailures = 0
    /// Set once the lease was found under another token.
    public private(set) var isLost = false

    /// What the keeper does next.
    public enum Action: Sendable, Equatable {
        /// Wait this long, then renew.
        case renew(afterMilliseconds: Int)
        /// Another worker holds the name: stop reading. Its lease expires in this many milliseconds (`nil`: no expiry).
        case stop(holderRemainingMilliseconds: Int?)
    }

    /// Starts right after the lease was taken.
    public init(renewIntervalMilliseconds: Int) {
        self.renewIntervalMilliseconds = max(1, renewIntervalMilliseconds)
        self.retryIntervalMilliseconds = max(1, min(1_000, renewIntervalMilliseconds / 4))
    }

    /// The first action, after the lease was taken at start-up.
    public var first: Action { .renew(afterMilliseconds: renewIntervalMilliseconds) }

    /// A renewal call answered.
    public mutating func renewed(_ outcome: LeaseClaimCall.Outcome) -> Action {
        consecutiveFailures = 0
        switch outcome {
        case .taken, .extended:
            return .renew(afterMilliseconds: renewIntervalMilliseconds)
        case .heldByAnother(let remaining):
            isLost = true
            return .stop(holderRemainingMilliseconds: remaining)
        }
    }

    /// A renewal call failed without an answer.
    public mutating func failed() -> Action {
        consecutiveFailures += 1
        return .renew(afterMilliseconds: retryIntervalMilliseconds)
    }
}
