import RedisClient

/// Where generated traffic's event time stands in a namespace: `<ns>:generator:event_clock` holds the planned
/// end of the latest run (epoch milliseconds), and each run reserves its own span after it.
///
/// A run's event times come from its schedule (transaction *n* at start + planned offset of *n* × time scale),
/// and the start is the first UTC midnight that is at least a quiet day after the previous run's planned end,
/// and not before the wall clock. So:
/// - event time only moves forward in a namespace, whichever command generates (`generate`, `load-test`,
///   `load-test --http`): a user's state never sees an earlier time than it holds, which would turn every
///   change of place into an "impossible" speed;
/// - every feature window (1 minute, 1 hour, 24 hours, the merchants' hour, a device's events) is empty again
///   when a run starts, so consecutive runs start alike;
/// - every run starts at the same time of day, so the same users are active at the same point of each run
///   and `hour_of_day` is the same.
///
/// The clock also counts the namespace's generated runs (`<ns>:generator:runs`), and run *k* draws its traffic from
/// ``trafficSeed(_:runNumber:)``: the first run uses `--seed` itself, later ones a seed derived from it and *k*. The
/// same seed replayed into a namespace would send the same fraudster devices, merchants and amounts at the same
/// victims, whose state from the earlier run then makes the fraud look familiar (recall fell 0.78 → 0.48 → 0.33 over
/// three such runs); each run instead gets incidents of its own, and a namespace's sequence of runs is reproducible.
public struct EventClock: Sendable {
    /// The namespace.
    public let namespace: String

    /// A day, in milliseconds.
    public static let dayMilliseconds: Int64 = 86_400_000
    /// The quiet time between two runs: longer than the longest feature window (24 hours).
    public static let quietMilliseconds: Int64 = 86_400_000

    /// The clock of `namespace`.
    public init(namespace: String) { self.namespace = namespace }

    /// `<ns>:generator:event_clock`.
    public var key: String { "\(namespace):generator:event_clock" }
    /// `<ns>:generator:runs`: how many runs have reserved event time in the namespace.
    public var runsKey: String { "\(namespace):generator:runs" }

    /// A run's place on the clock.
    public struct Reservation: Sendable, Equatable {
        /// Event time of the run's start, epoch milliseconds.
        public var startMilliseconds: Int64
        /// Which generated run of the namespace this is, from 1.
        public var runNumber: Int
    }

    /// The traffic seed of a namespace's `runNumber`-th run: `seed` for the first, then one derived from both.
    public static func trafficSeed(_ seed: UInt64, runNumber: Int) -> UInt64 {
        guard runNumber > 1 else { return seed }
        var state = seed ^ (UInt64(runNumber) &* 0xD6E8_FEB8_6659_FD93)
        return SeededRandom.splitMix(&state)
    }

    /// The start of a run: the first UTC midnight at or after both `now` and `previousEnd` + a quiet day.
    public static func runStart(previousEnd: Int64?, now: Int64) -> Int64 {
        var lower = max(now, 0)
        if let previousEnd { lower = max(lower, previousEnd + quietMilliseconds) }
        return (lower + dayMilliseconds - 1) / dayMilliseconds * dayMilliseconds
    }

    /// Reserves event time for a run lasting `lengthMilliseconds` of event time and counts the run: reads the
    /// clock and moves it to the run's planned end before anything is sent, so a run that is interrupted still
    /// keeps the next one after it. (Two generators started at the same moment in one namespace may get the same
    /// span; their users then interleave as they would in one run.)
    public func reserve(
        lengthMilliseconds: Int64, now: Int64, on connection: RedisConnection
    ) async throws(RedisError) -> Reservation {
        let replies = try await connection.pipeline([RedisCommand("GET", key), RedisCommand("INCR", runsKey)])
        let previous = try replies[0].get().int.map(Int64.init)
        let runNumber = try replies[1].get().int ?? 1
        let start = Self.runStart(previousEnd: previous, now: now)
        try await connection.send(RedisCommand("SET", key, Int(start + max(0, lengthMilliseconds))))
        return Reservation(startMilliseconds: start, runNumber: runNumber)
    }
}
