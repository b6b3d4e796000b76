import RedisClient

/// What `prepare` loaded, stored at `<ns>:world` so `generate` makes traffic for the same users and
/// merchants by default (a mismatch makes nearly every transaction `new_user` and recall 0).
public struct PreparedWorld: Sendable, Equatable {
    /// Users in the world.
    public var users: Int
    /// The world's seed.
    public var seed: UInt64
    /// Incidents of device card cycling the world was asked for (`--card-cycling-incidents`; 0 for none), so `generate`
    /// plays that scenario too.
    public var cardCyclingIncidents: Int

    /// Creates the record.
    public init(users: Int, seed: UInt64, cardCyclingIncidents: Int = 0) {
        self.users = users
        self.seed = seed
        self.cardCyclingIncidents = cardCyclingIncidents
    }

    /// `<ns>:world`.
    public static func key(namespace: String) -> String { "\(namespace):world" }

    /// Stores the record.
    public func save(namespace: String, on connection: RedisConnection) async throws(RedisError) {
        try await connection.send(RedisCommand(
            "HSET", Self.key(namespace: namespace), "users", users, "seed", String(seed), "card_cycling", cardCyclingIncidents))
    }

    /// The stored record, or `nil` when nothing was prepared under `namespace`.
    public static func load(namespace: String, on connection: RedisConnection) async throws(RedisError) -> PreparedWorld? {
        let fields = try await connection.send(RedisCommand("HMGET", key(namespace: namespace), "users", "seed", "card_cycling")).array ?? []
        guard fields.count == 3, let users = fields[0].int, let seedText = fields[1].string, let seed = UInt64(seedText) else {
            return nil
        }
        return PreparedWorld(users: users, seed: seed, cardCyclingIncidents: max(0, fields[2].int ?? 0))
    }
}
