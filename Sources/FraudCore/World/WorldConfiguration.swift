/// The knobs of a synthetic world. Everything the generator does follows from these values, so the
/// same configuration always gives the same world, byte for byte.
public struct WorldConfiguration: Sendable, Equatable, Hashable, Codable {
    /// Number of card holders (`u0` … `u<users-1>`).
    public var users: Int
    /// Length of the labelled history, in days.
    public var days: Int
    /// Seed of every random choice.
    public var seed: UInt64
    /// Number of merchants (`m0` … `m<merchants-1>`).
    public var merchants: Int
    /// Start of the history, epoch milliseconds; fixed (not "now") so output is reproducible.
    /// The default is 2026-10-01T00:00:00Z.
    public var startMilliseconds: Int64
    /// Target share of fraud rows in the history (about 1–2 %); the generator lands close to it.
    public var fraudRate: Double
    /// Incidents of ``FraudScenario/deviceCardCycling`` added to the history and to live traffic's mix (0: none, the
    /// default world). They come on top of the other scenarios' rows, which stay as they are.
    public var cardCyclingIncidents: Int = 0

    /// Creates a configuration; every parameter has the default world's value.
    public init(
        users: Int = 5_000, days: Int = 30, seed: UInt64 = 42, merchants: Int = 2_000,
        startMilliseconds: Int64 = 1_790_812_800_000, fraudRate: Double = 0.015
    ) {
        self.users = users
        self.days = days
        self.seed = seed
        self.merchants = merchants
        self.startMilliseconds = startMilliseconds
        self.fraudRate = fraudRate
    }

    /// End of the history (exclusive), epoch milliseconds.
    public var endMilliseconds: Int64 { startMilliseconds + Int64(max(0, days)) * 86_400_000 }

    /// JSON keys (`world.json`).
    private enum CodingKeys: String, CodingKey {
        case users
        case days
        case seed
        case merchants
        case startMilliseconds = "start_ms"
        case fraudRate = "fraud_rate"
        case cardCyclingIncidents = "card_cycling_incidents"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        users = try container.decode(Int.self, forKey: .users)
        days = try container.decode(Int.self, forKey: .days)
        seed = try container.decode(UInt64.self, forKey: .seed)
        merchants = try container.decode(Int.self, forKey: .merchants)
        startMilliseconds = try container.decode(Int64.self, forKey: .startMilliseconds)
        fraudRate = try container.decode(Double.self, forKey: .fraudRate)
        cardCyclingIncidents = try container.decodeIfPresent(Int.self, forKey: .cardCyclingIncidents) ?? 0
    }

    /// Written without `card_cycling_incidents` when it is 0, so a default world's file is what it always was.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(users, forKey: .users)
        try container.encode(days, forKey: .days)
        try container.encode(seed, forKey: .seed)
        try container.encode(merchants, forKey: .merchants)
        try container.encode(startMilliseconds, forKey: .startMilliseconds)
        try container.encode(fraudRate, forKey: .fraudRate)
        if cardCyclingIncidents != 0 { try container.encode(cardCyclingIncidents, forKey: .cardCyclingIncidents) }
    }
}
