/// Generates synthetic worlds: users, merchants, a blocklist and a labelled transaction history.
///
/// Pure Swift, no I/O, no clock, no system randomness: the output depends only on the configuration,
/// so the same configuration gives the same world (and, through `WorldFile`, the same bytes).
public enum WorldGenerator {
    /// Builds the world described by `configuration`.
    ///
    /// Steps: merchants and address pools (`WorldAtlas`), one profile and habits per user, each user's
    /// genuine activity, fraud incidents on top (`FraudPlanner`, `ScenarioPlayer`), then all rows in
    /// event-time order, numbered `h-<seed>-<n>` with a fixed-width `n`.
    public static func generate(_ configuration: WorldConfiguration) -> SyntheticWorld {
        let atlas = WorldAtlas(configuration: configuration, merchants: WorldAtlas.makeMerchants(configuration))
        let userCount = max(0, configuration.users)
        let profiles = (0..<userCount).map { ProfileGenerator.profile($0, atlas: atlas) }
        let habits = profiles.indices.map { UserHabits(index: $0, profile: profiles[$0], atlas: atlas) }
        var rowsByUser: [[Transaction]] = profiles.indices.map { index in
            var random = SeededRandom(seed: configuration.seed, stream: WorldAtlas.Stream.legit.rawValue, index: UInt64(index))
            return LegitActivity(atlas: atlas, profile: profiles[index], habits: habits[index]).history(using: &random)
        }
        FraudPlanner(atlas: atlas, profiles: profiles, habits: habits).addFraud(to: &rowsByUser)
        return SyntheticWorld(
            configuration: configuration, profiles: profiles, merchants: atlas.merchants, blocklistedIPs: atlas.blocklist,
            history: ordered(rowsByUser, seed: configuration.seed))
    }

    /// Flattens, sorts by event time (ties broken by a seeded random key, so generation order leaks
    /// nothing) and assigns ids in that order; fixed-width numbers keep id order equal to row order.
    static func ordered(_ rowsByUser: [[Transaction]], seed: UInt64) -> [Transaction] {
        var rows: [Transaction] = []
        rows.reserveCapacity(rowsByUser.reduce(0) { $0 + $1.count })
        for userRows in rowsByUser { rows.append(contentsOf: userRows) }
        var random = SeededRandom(seed: seed, stream: WorldAtlas.Stream.order.rawValue)
        var keys: [(time: Int64, tie: UInt64, index: Int)] = []
        keys.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() { keys.append((row.timestampMilliseconds, random.next(), index)) }
        keys.sort { $0.time != $1.time ? $0.time < $1.time : ($0.tie != $1.tie ? $0.tie < $1.tie : $0.index < $1.index) }
        let width = max(7, String(max(0, rows.count - 1)).count)
        let prefix = "h-\(seed)-"
        var history: [Transaction] = []
        history.reserveCapacity(rows.count)
        for (position, key) in keys.enumerated() {
            var row = rows[key.index]
            let number = String(position)
            row.transactionId = prefix + String(repeating: "0", count: width - number.count) + number
            history.append(row)
        }
        return history
    }
}
