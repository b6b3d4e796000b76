/// Live traffic for a world: an endless stream of new transactions for the world's users, continuing
/// their habits, with fraud incidents from the same scenario code as the history, at a chosen ratio.
///
/// The caller supplies each row's event time (`next(timestampMilliseconds:)`), normally increasing.
/// Multi-row incidents (a card-testing burst, a spree) and legit quick repeats are scheduled at their
/// own pace and come out on the first call at or after their due time, stamped with that call's time;
/// in between, legit rows go to users in proportion to their activity at that hour of their day.
/// Deterministic: the same world, seed and sequence of times give the same rows.
public struct TrafficSynthesizer: Sendable {
    /// Target share of fraud rows.
    public let fraudRatio: Double
    /// Rows are numbered `<idPrefix>-<n>` from 0.
    public let idPrefix: String
    /// Copied into every row's `runId`.
    public let runId: String?

    private let atlas: WorldAtlas
    private let users: [ScenarioPlayer.Victim]
    /// Users grouped by UTC offset, with running activity weights, for time-of-day-aware picking.
    private let groups: [(offsetHours: Int, users: [Int], cumulative: [Double])]
    private let victimWeights: [Double]
    private var random: SeededRandom
    private var player: ScenarioPlayer
    private var pending = ScheduledRows()
    /// Due times of the fraud rows in `pending`, sorted: what an incident already started still owes.
    private var pendingFraudDue: [Int64] = []
    /// Scheduled fraud rows due within this much event time count against the fraud budget.
    static let fraudBudgetHorizonMilliseconds: Int64 = 600_000
    /// Next one-off device slot of each user, by user number (`habits.index`).
    private var oneOffSlots: [Int]
    private var emitted = 0
    private var fraudEmitted = 0
    /// Fraud rows started per scenario (emitted or still scheduled), in `FraudScenario.allCases` order.
    private var fraudPlanned = [Int](repeating: 0, count: FraudScenario.allCases.count)
    /// Each scenario's share of the fraud rows, in `FraudScenario.allCases` order.
    private let shares: [Double]

    /// Creates a synthesizer over `world`'s users and merchants. `fraudRatio` (0...1) is the target
    /// share of fraud rows; ids are `<runId>-<n>` when `runId` is given, else `live-<seed>-<n>`.
    /// With `lanes` > 1 it makes traffic for the users whose number is `lane` mod `lanes` only (legit and
    /// fraud alike), so parallel senders never share a user and each user's rows reach the stream in
    /// event-time order however the senders' speeds differ.
    public init(world: SyntheticWorld, seed: UInt64, fraudRatio: Double, runId: String? = nil, lane: Int = 0, lanes: Int = 1) {
        self.fraudRatio = min(1, max(0, fraudRatio))
        // The history's shares; device card cycling, which has none of its own there, gets 15% of the fraud rows in a
        // world that asked for it.
        var shares = FraudPlanner.rowShares
        if let cycling = FraudScenario.allCases.firstIndex(of: .deviceCardCycling), world.configuration.cardCyclingIncidents > 0 {
            shares[cycling] = 0.15
        }
        self.shares = shares
        self.runId = runId
        idPrefix = runId ?? "live-\(seed)"
        let atlas = WorldAtlas(configuration: world.configuration, merchants: world.merchants, blocklist: world.blocklistedIPs)
        self.atlas = atlas
        let lanes = max(1, lanes)
        users = world.profiles.indices.filter { $0 % lanes == lane }.map { index in
            let profile = world.profiles[index]
            return ScenarioPlayer.Victim(profile: profile, habits: UserHabits(index: index, profile: profile, atlas: atlas))
        }
        var byOffset: [(offsetHours: Int, users: [Int], cumulative: [Double])] = []
        for (index, user) in users.enumerated() {
            let offset = user.habits.utcOffsetHours
            if let group = byOffset.firstIndex(where: { $0.offsetHours == offset }) {
                byOffset[group].users.append(index)
                byOffset[group].cumulative.append((byOffset[group].cumulative.last ?? 0) + user.habits.dailyRate)
            } else {
                byOffset.append((offset, [index], [user.habits.dailyRate]))
            }
        }
        groups = byOffset
        var running = 0.0
        victimWeights = users.map { user in
            running += 0.5 + 2 * user.profile.riskScore
            return running
        }
        var mixer = seed
        let liveOffset = UInt32(truncatingIfNeeded: SeededRandom.splitMix(&mixer)) & 0x1FFF_FFFF
        random = SeededRandom(seed: seed, stream: WorldAtlas.Stream.live.rawValue)
        player = ScenarioPlayer(atlas: atlas, firstDeviceSerial: WorldAtlas.DeviceSpace.liveFraud + liveOffset)
        oneOffSlots = [Int](repeating: 5, count: world.profiles.count)
    }

    /// Rows produced so far.
    public var producedCount: Int { emitted }
    /// Fraud rows produced so far.
    public var fraudCount: Int { fraudEmitted }

    /// The next transaction, stamped `timestampMilliseconds`, with a unique id, `isFraud` and (for
    /// fraud) `scenario` set. A world without users or merchants only yields placeholder legit rows.
    public mutating func next(timestampMilliseconds time: Int64) -> Transaction {
        if let due = pending.earliestDue, due <= time, let row = pending.popEarliest() {
            if row.isFraud == true, let index = Self.firstIndex(pendingFraudDue, of: row.timestampMilliseconds) {
                pendingFraudDue.remove(at: index)
            }
            return stamp(row, time)
        }
        guard !users.isEmpty, !atlas.merchants.isEmpty else {
            let placeholder = Transaction(
                transactionId: "", userId: "u0", amount: 1, merchantId: "m0", timestampMilliseconds: time, isFraud: false)
            return stamp(placeholder, time)
        }
        // An incident starts once the rows so far have earned a whole fraud row, counting the rows that
        // incidents already started will emit soon: fraud is spread over the run, so any prefix (a short
        // `--count` too) has about the requested share instead of a burst of incidents at the start.
        let owedSoon = Self.count(pendingFraudDue, upTo: time + Self.fraudBudgetHorizonMilliseconds)
        if fraudRatio > 0 && Double(fraudEmitted + owedSoon + 1) <= fraudRatio * Double(emitted + 1) {
            return stamp(startIncident(at: time), time)
        }
        return stamp(legit(at: time), time)
    }

    private mutating func schedule(_ row: Transaction) {
        pending.schedule(row, due: row.timestampMilliseconds)
        if row.isFraud == true {
            pendingFraudDue.insert(row.timestampMilliseconds, at: Self.insertionIndex(pendingFraudDue, row.timestampMilliseconds))
        }
    }

    /// Index of the first element `>= value` in a sorted array.
    private static func insertionIndex(_ sorted: [Int64], _ value: Int64) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func firstIndex(_ sorted: [Int64], of value: Int64) -> Int? {
        let index = insertionIndex(sorted, value)
        return index < sorted.count && sorted[index] == value ? index : nil
    }

    /// Elements `<= limit` in a sorted array.
    private static func count(_ sorted: [Int64], upTo limit: Int64) -> Int {
        insertionIndex(sorted, limit + 1)
    }

    private mutating func stamp(_ row: Transaction, _ time: Int64) -> Transaction {
        var row = row
        row.transactionId = "\(idPrefix)-\(emitted)"
        row.timestampMilliseconds = time
        row.runId = runId
        emitted += 1
        if row.isFraud == true { fraudEmitted += 1 }
        return row
    }

    /// Emits the first row of `rows` (sorted by time) and schedules the rest at their own times.
    private mutating func first(of rows: [Transaction]) -> Transaction {
        let sorted = rows.sorted { $0.timestampMilliseconds < $1.timestampMilliseconds }
        for row in sorted.dropFirst() { schedule(row) }
        return sorted[0]
    }

    private mutating func pickUser(at time: Int64) -> Int {
        let hourOfDay = Int(((time / LegitActivity.hour) % 24 + 24) % 24)
        let weights = groups.map { group in
            (group.cumulative.last ?? 0) * LegitActivity.diurnal[((hourOfDay + group.offsetHours) % 24 + 24) % 24]
        }
        let group = groups[random.weightedIndex(weights)]
        return group.users[random.weightedIndex(cumulative: group.cumulative)]
    }

    private mutating func legit(at time: Int64) -> Transaction {
        let user = pickUser(at: time)
        let activity = LegitActivity(atlas: atlas, profile: users[user].profile, habits: users[user].habits)
        let draw = random.nextDouble()
        let rows: [Transaction]
        if draw < 0.008 {
            rows = activity.shoppingSpree(at: time, whereabouts: .home, using: &random)
        } else if draw < 0.0088 {
            rows = activity.inAppBurst(at: time, whereabouts: .home, using: &random)
        } else {
            rows = activity.payment(at: time, whereabouts: .home, oneOffSlot: &oneOffSlots[users[user].habits.index], using: &random)
        }
        return first(of: rows)
    }

    /// Starts the scenario furthest behind its share of fraud rows (the history's shares).
    private mutating func startIncident(at time: Int64) -> Transaction {
        let total = Double(fraudPlanned.reduce(0, +) + 1)
        var chosen = 0
        var largestGap = -Double.infinity
        for index in shares.indices where shares[index] > 0 {
            let gap = shares[index] * total - Double(fraudPlanned[index])
            if gap > largestGap {
                largestGap = gap
                chosen = index
            }
        }
        let scenario = FraudScenario.allCases[chosen]
        let victim = users[random.weightedIndex(cumulative: victimWeights)]
        if scenario == .impossibleTravel {
            // A genuine use now, the impossible one minutes later.
            let activity = LegitActivity(atlas: atlas, profile: victim.profile, habits: victim.habits)
            let genuine = activity.payment(at: time, whereabouts: .home, oneOffSlot: &oneOffSlots[victim.habits.index], using: &random)[0]
            let anchor = ScenarioPlayer.Anchor(
                time: time, latitude: genuine.latitude ?? victim.profile.homeLatitude,
                longitude: genuine.longitude ?? victim.profile.homeLongitude)
            let rows = player.play(scenario, victims: [victim], at: time, anchor: anchor, using: &random)
            fraudPlanned[chosen] += rows.count
            for row in rows { schedule(row) }
            return genuine
        }
        var victims = [victim]
        if scenario == .deviceCardCycling {
            // The stolen cards: other users of this lane (lanes never share a user).
            for _ in 0..<random.int(in: 5...19) {
                let other = users[random.weightedIndex(cumulative: victimWeights)]
                if !victims.contains(where: { $0.habits.index == other.habits.index }) { victims.append(other) }
            }
        }
        if scenario == .clickSpam && random.chance(0.6) {
            for _ in 0..<random.int(in: 1...4) {
                let other = users[random.int(below: users.count)]
                if !victims.contains(where: { $0.habits.index == other.habits.index }) { victims.append(other) }
            }
        }
        let rows = player.play(scenario, victims: victims, at: time, anchor: nil, using: &random)
        fraudPlanned[chosen] += rows.count
        return first(of: rows)
    }
}
