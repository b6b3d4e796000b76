/// A generated world: who the card holders and merchants are, which IPs are blocklisted, and a
/// labelled transaction history.
public struct SyntheticWorld: Sendable, Equatable {
    /// The configuration that produced the world.
    public var configuration: WorldConfiguration
    /// Card holders, in user-number order (`u0`, `u1`, …).
    public var profiles: [UserProfile]
    /// Merchants, in merchant-number order (`m0`, `m1`, …).
    public var merchants: [Merchant]
    /// The IP blocklist (dotted quads, ascending numeric order): the listed fraud IPs, shared NAT
    /// addresses that innocent users also use, and stale entries nobody uses.
    public var blocklistedIPs: [String]
    /// The labelled history, sorted by (`timestampMilliseconds`, `transactionId`). Fraud rows have
    /// `isFraud == true` and `scenario` set to a `FraudScenario` raw value; legit rows have
    /// `isFraud == false` and no scenario.
    public var history: [Transaction]

    /// Creates a world from its parts.
    public init(
        configuration: WorldConfiguration, profiles: [UserProfile], merchants: [Merchant], blocklistedIPs: [String],
        history: [Transaction]
    ) {
        self.configuration = configuration
        self.profiles = profiles
        self.merchants = merchants
        self.blocklistedIPs = blocklistedIPs
        self.history = history
    }
}
