/// Exponential backoff with jitter for re-establishing a lost connection.
///
/// A value type with explicit transitions so it can be tested without a server: each failed attempt
/// doubles the delay up to ``maximumMilliseconds``; a success resets it.
public struct ReconnectBackoff: Sendable, Equatable {
    /// The delay after the first failure.
    public var initialMilliseconds: Int
    /// The ceiling for the delay.
    public var maximumMilliseconds: Int
    /// Consecutive failed attempts since the last success.
    public private(set) var failures: Int = 0

    /// Creates a backoff.
    public init(initialMilliseconds: Int = 50, maximumMilliseconds: Int = 2_000) {
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
    }

    /// What the caller should do next.
    public enum Action: Sendable, Equatable {
        /// Try to connect now.
        case connectNow
        /// Wait this long, then try.
        case wait(milliseconds: Int)
    }

    /// The action before the next attempt. `jitter` in 0...1 scales the delay between 50% and 100%.
    public func nextAction(jitter: Double = 1) -> Action {
        guard failures > 0 else { return .connectNow }
        let exponent = min(failures - 1, 20)
        let base = min(maximumMilliseconds, initialMilliseconds << exponent)
        let scaled = Int(Double(base) * (0.5 + 0.5 * min(max(jitter, 0), 1)))
        return .wait(milliseconds: max(1, scaled))
    }

    /// Records a failed attempt.
    public mutating func recordFailure() { failures += 1 }

    /// Records a successful connect.
    public mutating func recordSuccess() { failures = 0 }
}
