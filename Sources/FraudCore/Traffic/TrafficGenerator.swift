import Foundation
import RedisClient
import Synchronization

/// Publishes synthetic transactions to the input stream on an open-loop schedule (``RatePlan``),
/// from several connections (`--threads`), with ground-truth labels and a run id.
public struct TrafficGenerator: Sendable {
    /// What to generate.
    public struct Options: Sendable {
        /// Input stream.
        public var stream = StreamNames().transactions
        /// The input's partitions: a transaction goes to its user's (``StreamNames/partition(forUser:)``); when set,
        /// it replaces ``stream``.
        public var partitions: StreamNames?
        /// Key namespace (run metadata).
        public var namespace = StreamNames.defaultNamespace
        /// Run id written into every transaction.
        public var runId: String
        /// The rate schedule.
        public var plan: RatePlan
        /// Share of fraud rows.
        public var fraudRatio = 0.02
        /// Parallel publishing connections (at most one per user: lanes never share a user).
        public var threads = 1
        /// Seed of the traffic.
        public var seed: UInt64 = 1
        /// How much faster event time (`timestamp`) runs than the schedule. A few thousand users cannot
        /// produce thousands of transactions per second at human pace; a scale > 1 keeps each user's
        /// event-time gaps realistic (velocity, travel speed) while the stream is fed at the target rate.
        /// Latency is unaffected: it is measured from the stream entry id.
        public var timeScale = 1.0
        /// Lifetime of the run's metadata key after its last write, in seconds (`STATS_TTL`).
        public var statsTTLSeconds = RunStatisticsKeys.defaultTTLSeconds

        /// Creates options.
        public init(runId: String, plan: RatePlan) {
            self.runId = runId
            self.plan = plan
        }
    }

    /// What happened.
    public struct Report: Sendable {
        /// Transactions published.
        public var sent: Int
        /// Fraud rows among them.
        public var fraud: Int
        /// Wall time from the first scheduled send to the last reply, seconds.
        public var seconds: Double
        /// Planned average rate.
        public var targetPerSecond: Double
        /// Event time of the run's start (``EventClock``), epoch milliseconds.
        public var startEventMilliseconds: Int64 = 0
        /// Which generated run of the namespace this was, from 1 (its traffic comes from ``EventClock/trafficSeed(_:runNumber:)``).
        public var runNumber = 1
        /// Achieved average rate.
        public var achievedPerSecond: Double { seconds > 0 ? Double(sent) / seconds : 0 }
    }

    /// Settings.
    public let options: Options
    /// The world whose users and merchants the traffic uses.
    public let world: SyntheticWorld

    /// Creates a generator.
    public init(options: Options, world: SyntheticWorld) {
        self.options = options
        self.world = world
    }

    /// A run id like `run-20261123-101500-3fa9`.
    public static func makeRunId(now: Date = Date(), seed: UInt64 = UInt64.random(in: 0...UInt64.max)) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let suffix = String(seed & 0xFFFF, radix: 16)
        return "run-\(parts.year ?? 0)\(two(parts.month))\(two(parts.day))-\(two(parts.hour))\(two(parts.minute))\(two(parts.second))-"
            + String(repeating: "0", count: 4 - suffix.count) + suffix
    }

    /// Publishes the whole plan; `progress` is called about once a second with (sent, elapsed seconds).
    ///
    /// Pacing follows the wall clock (what is due is sent), but event time does not: each transaction carries its
    /// planned time (``TrafficLane``) from a start reserved on the namespace's ``EventClock``, so a late send is
    /// only late, never stamped differently.
    public func run(
        redis: RedisConfiguration, progress: (@Sendable (Int, Double) -> Void)? = nil
    ) async throws -> Report {
        let options = self.options
        let world = self.world
        let counters = GeneratorCounters()
        // At most one lane per user: lanes never share a user.
        let lanes = min(max(1, options.threads), max(1, world.profiles.count))
        var connections: [RedisConnection] = []
        for lane in 0..<lanes {
            connections.append(try await RedisConnection.connect(redis, name: "generator-\(lane)"))
        }
        let metaKey = RunStatisticsKeys(namespace: options.namespace).meta(run: options.runId)
        let startedMilliseconds = Int64(Date().timeIntervalSince1970 * 1000)
        let reservation = try await EventClock(namespace: options.namespace).reserve(
            lengthMilliseconds: TrafficLane.endMilliseconds(plan: options.plan, startEventMilliseconds: 0, timeScale: options.timeScale),
            now: startedMilliseconds, on: connections[0])
        let startEvent = reservation.startMilliseconds
        let trafficSeed = EventClock.trafficSeed(options.seed, runNumber: reservation.runNumber)
        let endEvent = TrafficLane.endMilliseconds(plan: options.plan, startEventMilliseconds: startEvent, timeScale: options.timeScale)
        // Readers take the partition count from here (an appended run keeps the largest it was written with).
        let partitions = options.partitions?.partitionCount ?? 1
        let recorded = try await connections[0].send(RedisCommand("HGET", metaKey, "partitions")).int ?? 0
        for reply in try await connections[0].pipeline([
            RedisCommand(
                "HSET", metaKey, "pattern", options.plan.pattern.rawValue, "target_tps", options.plan.averagePerSecond, "base_tps", options.plan.targetPerSecond,
                "planned_count", options.plan.totalCount, "fraud_ratio", options.fraudRatio, "threads", lanes,
                "seed", Int(truncatingIfNeeded: options.seed), "start_ms", Int(startedMilliseconds), "time_scale", options.timeScale,
                "partitions", max(partitions, recorded), "start_event_ms", Int(startEvent), "end_event_ms", Int(endEvent),
                "run_number", reservation.runNumber, "traffic_seed", String(trafficSeed)),
            RedisCommand("EXPIRE", metaKey, options.statsTTLSeconds),
        ]) { _ = try reply.get() }
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (lane, connection) in connections.enumerated() {
                group.addTask(executorPreference: connection.executor) {
                    var pacing = PacingState(plan: options.plan, lane: lane, lanes: lanes)
                    var traffic = TrafficLane(
                        world: world, seed: trafficSeed, fraudRatio: options.fraudRatio, runId: options.runId, plan: options.plan,
                        lane: lane, lanes: lanes, startEventMilliseconds: startEvent, timeScale: options.timeScale)
                    while !pacing.isFinished {
                        try Task.checkCancellation()
                        let due = pacing.take(atSecond: (clock.now - start).seconds, limit: 2_000)
                        if due == 0 {
                            let next = start + .nanoseconds(Int64(pacing.nextDueSecond * 1e9))
                            try await Task.sleep(until: next, tolerance: .microseconds(100), clock: clock)
                            continue
                        }
                        var commands: [RedisCommand] = []
                        commands.reserveCapacity(due)
                        var fraud = 0
                        for _ in 0..<due {
                            let transaction = traffic.next()
                            if transaction.isFraud == true { fraud += 1 }
                            let stream = options.partitions?.partition(forUser: transaction.userId).transactions ?? options.stream
                            var command = RedisCommand("XADD", stream, "*")
                            for (name, value) in transaction.streamFields {
                                command.append(name)
                                command.append(value)
                            }
                            commands.append(command)
                        }
                        for reply in try await connection.pipeline(commands) { _ = try reply.get() }
                        counters.sent.add(due, ordering: .relaxed)
                        counters.fraud.add(fraud, ordering: .relaxed)
                    }
                }
            }
            if let progress {
                group.addTask {
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        progress(counters.sent.load(ordering: .relaxed), (clock.now - start).seconds)
                    }
                }
            }
            // Wait for the senders; then stop the progress task.
            var finished = 0
            while finished < connections.count {
                try await group.next()
                finished += 1
            }
            group.cancelAll()
        }
        let seconds = (clock.now - start).seconds
        let report = Report(
            sent: counters.sent.load(ordering: .relaxed), fraud: counters.fraud.load(ordering: .relaxed), seconds: seconds,
            targetPerSecond: options.plan.averagePerSecond, startEventMilliseconds: startEvent, runNumber: reservation.runNumber)
        for reply in try await connections[0].pipeline([
            RedisCommand(
                "HSET", metaKey, "end_ms", Int(Date().timeIntervalSince1970 * 1000), "sent", report.sent,
                "fraud_sent", report.fraud, "achieved_tps", report.achievedPerSecond),
            RedisCommand("EXPIRE", metaKey, options.statsTTLSeconds),
        ]) { _ = try reply.get() }
        return report
    }
}

/// Counters shared by the generator's lanes.
final class GeneratorCounters: Sendable {
    let sent = Atomic<Int>(0)
    let fraud = Atomic<Int>(0)
}
