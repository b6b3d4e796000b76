/// Decides how much fraud of each scenario the history gets, who the victims are and when it happens,
/// and has the `ScenarioPlayer` play it into the users' rows.
struct FraudPlanner {
    /// Target share of fraud rows per scenario, in `FraudScenario.allCases` order; device card cycling has none of its
    /// own (it comes in the number of incidents a world asks for, on top).
    static let rowShares: [Double] = [0.24, 0.13, 0.19, 0.09, 0.11, 0.13, 0.11, 0]
    /// Every scenario gets at least this many incidents, even in tiny worlds (so samples show each one).
    static let minimumIncidents = 3
    /// Incidents start at least this long before the end of the history, so they fit inside it.
    static let tailMilliseconds: Int64 = 3 * 3_600_000

    let atlas: WorldAtlas
    let profiles: [UserProfile]
    let habits: [UserHabits]
    /// Running victim weights: riskier and newer accounts are hit more often.
    private let cumulativeWeights: [Double]

    init(atlas: WorldAtlas, profiles: [UserProfile], habits: [UserHabits]) {
        self.atlas = atlas
        self.profiles = profiles
        self.habits = habits
        var running = 0.0
        let newSince = atlas.configuration.startMilliseconds - 45 * 86_400_000
        cumulativeWeights = profiles.map { profile in
            running += 0.5 + 2 * profile.riskScore + (profile.accountCreatedMilliseconds > newSince ? 1 : 0)
            return running
        }
    }

    /// Adds fraud rows to `rowsByUser` (indexed by user number) so that they make up about the
    /// configured share of all rows.
    func addFraud(to rowsByUser: inout [[Transaction]]) {
        guard !profiles.isEmpty, atlas.configuration.days > 0 else { return }
        let legitRows = rowsByUser.reduce(0) { $0 + $1.count }
        let rate = min(0.5, max(0, atlas.configuration.fraudRate))
        let fraudTarget = rate * Double(legitRows) / (1 - rate)
        var player = ScenarioPlayer(atlas: atlas, firstDeviceSerial: WorldAtlas.DeviceSpace.historyFraud)
        // Impossible travel goes last: it looks for a gap in the victim's final sequence of rows.
        let order = FraudScenario.allCases.filter { $0 != .impossibleTravel } + [.impossibleTravel]
        for scenario in order {
            guard let position = FraudScenario.allCases.firstIndex(of: scenario) else { continue }
            if rate == 0 { continue }
            var random = SeededRandom(seed: atlas.configuration.seed, stream: WorldAtlas.Stream.fraud.rawValue, index: UInt64(position))
            let target = Self.rowShares[position] * fraudTarget
            // Card cycling: exactly the incidents the world asks for (none by default).
            let wanted = scenario == .deviceCardCycling ? atlas.configuration.cardCyclingIncidents : Self.minimumIncidents
            if wanted <= 0 && target == 0 { continue }
            var produced = 0
            var incidents = 0
            var attempts = 0
            while (Double(produced) < target || incidents < wanted) && attempts < 100_000 {
                attempts += 1
                let rows = incident(scenario, rowsByUser: rowsByUser, player: &player, using: &random)
                if rows.isEmpty { continue }
                for row in rows {
                    if let user = userIndex(row.userId) { rowsByUser[user].append(row) }
                }
                produced += rows.count
                incidents += 1
            }
        }
    }

    /// `u<n>` → n.
    private func userIndex(_ userId: String) -> Int? {
        guard userId.hasPrefix("u"), let index = Int(userId.dropFirst()), index >= 0, index < profiles.count else { return nil }
        return index
    }

    private func victim(_ index: Int) -> ScenarioPlayer.Victim {
        ScenarioPlayer.Victim(profile: profiles[index], habits: habits[index])
    }

    /// Plays one incident, or returns no rows when the drawn victim or moment does not fit.
    private func incident(
        _ scenario: FraudScenario, rowsByUser: [[Transaction]], player: inout ScenarioPlayer, using random: inout SeededRandom
    ) -> [Transaction] {
        let configuration = atlas.configuration
        let user = random.weightedIndex(cumulative: cumulativeWeights)
        let lower = max(configuration.startMilliseconds, profiles[user].accountCreatedMilliseconds + 3_600_000)
        let upper = configuration.endMilliseconds - Self.tailMilliseconds
        guard upper > lower else { return [] }

        if scenario == .impossibleTravel {
            guard let anchor = anchor(in: rowsByUser[user], lower: lower, upper: upper, using: &random) else { return [] }
            return player.play(scenario, victims: [victim(user)], at: anchor.time, anchor: anchor, using: &random)
        }

        var start = lower + Int64(random.nextDouble() * Double(upper - lower))
        if ScenarioPlayer.prefersDaytime(scenario) {
            let offset = Int64(habits[user].utcOffsetHours) * LegitActivity.hour
            let local = start + offset
            let localMidnight = local - ((local % LegitActivity.day) + LegitActivity.day) % LegitActivity.day
            start = localMidnight - offset + Int64(random.uniform(9, 20) * Double(LegitActivity.hour))
            guard start >= lower, start < upper else { return [] }
        }
        var victims = [victim(user)]
        if scenario == .deviceCardCycling {
            // The stolen cards: other users whose accounts existed then, chosen as the first victim was.
            for _ in 0..<random.int(in: 5...19) {
                let other = random.weightedIndex(cumulative: cumulativeWeights)
                if profiles[other].accountCreatedMilliseconds < start && !victims.contains(where: { $0.habits.index == other }) {
                    victims.append(victim(other))
                }
            }
        }
        if scenario == .clickSpam && random.chance(0.6) {
            for _ in 0..<random.int(in: 1...4) {
                let other = random.int(below: profiles.count)
                if profiles[other].accountCreatedMilliseconds < start && !victims.contains(where: { $0.habits.index == other }) {
                    victims.append(victim(other))
                }
            }
        }
        return player.play(scenario, victims: victims, at: start, anchor: nil, using: &random)
    }

    /// A genuine row of the user followed by at least 95 quiet minutes, to hang an impossible-travel
    /// row on (so that the genuine row is the one right before it).
    private func anchor(
        in rows: [Transaction], lower: Int64, upper: Int64, using random: inout SeededRandom
    ) -> ScenarioPlayer.Anchor? {
        let times = rows.map(\.timestampMilliseconds).sorted()
        let quiet: Int64 = 95 * 60_000
        var candidates: [Transaction] = []
        for row in rows where row.isFraud != true {
            let time = row.timestampMilliseconds
            guard time >= lower, time < upper, row.latitude != nil, row.longitude != nil else { continue }
            // The first time strictly after this row.
            var low = 0
            var high = times.count
            while low < high {
                let middle = (low + high) / 2
                if times[middle] > time { high = middle } else { low = middle + 1 }
            }
            let next = low < times.count ? times[low] : Int64.max
            // No other row at the same millisecond either.
            let same = times[max(0, low - 1)] == time && low >= 2 && times[low - 2] == time
            if !same, next - time > quiet { candidates.append(row) }
        }
        guard let chosen = random.element(of: candidates), let latitude = chosen.latitude, let longitude = chosen.longitude else {
            return nil
        }
        return ScenarioPlayer.Anchor(time: chosen.timestampMilliseconds, latitude: latitude, longitude: longitude)
    }
}
