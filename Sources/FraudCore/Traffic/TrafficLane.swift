/// One sender's share of a generated run, each transaction stamped with its *planned* event time.
///
/// Lane `lane` of `lanes` makes the run's transactions whose 0-based number is `lane` mod `lanes` (the ones its
/// ``PacingState`` sends), for the users whose number is `lane` mod `lanes`. Transaction *n*'s event time is the
/// run's start plus the plan's moment for *n* × the time scale: a function of the plan alone, never of when a
/// send happened. The same world, seed, plan, scale and start therefore give the same transactions with the
/// same timestamps on an idle machine and on one whose cores are all busy.
public struct TrafficLane: Sendable {
    /// The schedule shared by all lanes.
    public let plan: RatePlan
    /// This lane's number.
    public let lane: Int
    /// Number of lanes.
    public let lanes: Int
    /// Event time of the run's start, epoch milliseconds.
    public let startEventMilliseconds: Int64
    /// How much faster event time runs than the schedule's seconds.
    public let timeScale: Double
    /// The run id (in every transaction and its id).
    public let runId: String
    /// Transactions this lane has made.
    public private(set) var produced = 0
    private var synthesizer: TrafficSynthesizer

    /// A lane of a run over `world`; lane `lane`'s traffic is seeded with `seed` + `lane` × 7919.
    public init(
        world: SyntheticWorld, seed: UInt64, fraudRatio: Double, runId: String, plan: RatePlan, lane: Int = 0, lanes: Int = 1,
        startEventMilliseconds: Int64, timeScale: Double
    ) {
        self.plan = plan
        self.lane = lane
        self.lanes = max(1, lanes)
        self.startEventMilliseconds = startEventMilliseconds
        self.timeScale = timeScale
        self.runId = runId
        synthesizer = TrafficSynthesizer(
            world: world, seed: seed &+ UInt64(lane) &* 7_919, fraudRatio: fraudRatio, runId: runId, lane: lane, lanes: self.lanes)
    }

    /// The planned event time of the run's transaction `number` (0-based), epoch milliseconds.
    public static func eventMilliseconds(ofTransaction number: Int, plan: RatePlan, startEventMilliseconds: Int64, timeScale: Double) -> Int64 {
        startEventMilliseconds + Int64((plan.plannedSecond(ofTransaction: number + 1) * timeScale * 1000).rounded())
    }

    /// Event time of the run's last planned transaction, epoch milliseconds.
    public static func endMilliseconds(plan: RatePlan, startEventMilliseconds: Int64, timeScale: Double) -> Int64 {
        startEventMilliseconds + Int64((plan.durationSeconds * timeScale * 1000).rounded(.up))
    }

    /// The run number of this lane's next transaction.
    public var nextNumber: Int { produced * lanes + lane }

    /// This lane's next transaction, with id `<run>-<lane>-<k>` and its planned event time.
    public mutating func next() -> Transaction {
        let time = Self.eventMilliseconds(
            ofTransaction: nextNumber, plan: plan, startEventMilliseconds: startEventMilliseconds, timeScale: timeScale)
        var transaction = synthesizer.next(timestampMilliseconds: time)
        transaction.transactionId = "\(runId)-\(lane)-\(produced)"
        produced += 1
        return transaction
    }
}
