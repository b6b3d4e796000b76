import Foundation

/// The shape of a generated rate over time.
public enum TrafficPattern: String, Sendable, CaseIterable, Codable {
    /// A flat rate.
    case constant
    /// Sinusoidal around the target: ±50%, one period per minute (or per run, when shorter).
    case wave
    /// The target rate, with a burst at 5× in the middle tenth of the run.
    case spike
    /// Piecewise-constant random multipliers in 0.5–1.5×, changing every second (seeded).
    case random
}

/// How many transactions should have been sent by each moment of a run.
///
/// Pacing is open-loop: senders compare the clock with this schedule and send what is due, so a slow
/// send never pushes the schedule back. The cumulative curve is integrated at 1 ms resolution and
/// scaled so that it ends exactly at ``totalCount``.
public struct RatePlan: Sendable {
    /// The pattern.
    public let pattern: TrafficPattern
    /// The rate the pattern is centred on, per second.
    public let targetPerSecond: Double
    /// Length of the run in seconds.
    public let durationSeconds: Double
    /// Transactions in the run.
    public let totalCount: Int
    private let cumulative: [Double]
    private let stepSeconds = 0.001
    private let multipliers: [Double]

    /// A plan for `duration` seconds at `targetPerSecond` (total = integral of the rate), or for exactly
    /// `count` transactions (duration = count / rate).
    public init(pattern: TrafficPattern, targetPerSecond: Double, durationSeconds: Double?, count: Int?, seed: UInt64) {
        self.pattern = pattern
        self.targetPerSecond = max(0.001, targetPerSecond)
        let duration = durationSeconds ?? Double(count ?? 0) / self.targetPerSecond
        self.durationSeconds = max(duration, 0.001)
        var random = SeededRandom(seed: seed, stream: 0x7A7E)
        multipliers = (0..<(Int(self.durationSeconds) + 2)).map { _ in random.uniform(0.5, 1.5) }
        let steps = Int((self.durationSeconds / stepSeconds).rounded(.up))
        var curve = [Double](repeating: 0, count: steps + 1)
        var total = 0.0
        for step in 0..<steps {
            let t = (Double(step) + 0.5) * stepSeconds
            total += Self.multiplier(pattern, t, self.durationSeconds, multipliers) * self.targetPerSecond * stepSeconds
            curve[step + 1] = total
        }
        let wanted = count.map(Double.init) ?? total.rounded()
        let scale = total > 0 ? wanted / total : 0
        cumulative = curve.map { $0 * scale }
        totalCount = Int(wanted)
    }

    private static func multiplier(_ pattern: TrafficPattern, _ t: Double, _ duration: Double, _ random: [Double]) -> Double {
        switch pattern {
        case .constant:
            return 1
        case .wave:
            let period = min(60, duration)
            return 1 + 0.5 * sin(2 * Double.pi * t / period)
        case .spike:
            return abs(t - duration / 2) <= duration / 20 ? 5 : 1
        case .random:
            return random[min(random.count - 1, Int(t))]
        }
    }

    /// The plan's average rate, per second: what the run targets overall (a spike or a wave included).
    public var averagePerSecond: Double { durationSeconds > 0 ? Double(totalCount) / durationSeconds : 0 }

    /// The scheduled rate at `t` seconds, per second (before scaling to an exact count).
    public func rate(atSecond t: Double) -> Double {
        Self.multiplier(pattern, t, durationSeconds, multipliers) * targetPerSecond
    }

    /// How many transactions are due by `t` seconds after the start.
    public func dueCount(atSecond t: Double) -> Int {
        if t <= 0 { return 0 }
        let position = t / stepSeconds
        let index = Int(position)
        if index >= cumulative.count - 1 { return totalCount }
        let fraction = position - Double(index)
        let value = cumulative[index] + (cumulative[index + 1] - cumulative[index]) * fraction
        return min(totalCount, Int(value.rounded(.down)))
    }

    /// The planned moment of the `n`-th transaction (1-based), in seconds after the start: where the cumulative
    /// curve reaches `n`, interpolated within its 1 ms step (so at 10,000/s consecutive transactions still get
    /// distinct moments). The generator stamps event time from this, never from when a send happened, so a
    /// slow or busy machine sends late but never changes a transaction's event time.
    public func plannedSecond(ofTransaction n: Int) -> Double {
        if n <= 0 { return 0 }
        let target = Double(n)
        guard let step = firstStep(reaching: target) else { return durationSeconds }
        guard step > 0 else { return 0 }
        let before = cumulative[step - 1]
        let rise = cumulative[step] - before
        let fraction = rise > 0 ? (target - before) / rise : 1
        return (Double(step - 1) + fraction) * stepSeconds
    }

    /// When the `n`-th transaction (1-based) is due, in seconds after the start.
    public func dueSecond(ofTransaction n: Int) -> Double {
        guard let step = firstStep(reaching: Double(n)) else { return durationSeconds }
        return Double(step) * stepSeconds
    }

    /// The first step whose cumulative count reaches `target` (binary search), or `nil` past the plan's end.
    private func firstStep(reaching target: Double) -> Int? {
        var low = 0
        var high = cumulative.count - 1
        if target > cumulative[high] { return nil }
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] >= target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

/// One sender's progress against the plan: what is due now, and when to wake next.
public struct PacingState: Sendable {
    /// The shared plan.
    public let plan: RatePlan
    /// This sender's share: it sends the transactions whose 0-based number ≡ `lane` mod `lanes`.
    public let lane: Int
    /// Number of senders.
    public let lanes: Int
    /// Transactions this sender has sent.
    public private(set) var sent = 0

    /// A sender's pacing state.
    public init(plan: RatePlan, lane: Int = 0, lanes: Int = 1) {
        self.plan = plan
        self.lane = lane
        self.lanes = max(1, lanes)
    }

    /// This lane's share of the first `count` transactions.
    func share(of count: Int) -> Int {
        count <= lane ? 0 : (count - lane - 1) / lanes + 1
    }

    /// Transactions of this lane in the whole plan.
    public var laneTotal: Int { share(of: plan.totalCount) }

    /// `true` once this lane has sent its whole share.
    public var isFinished: Bool { sent >= laneTotal }

    /// How many to send now, at `t` seconds after the start; records them as sent.
    public mutating func take(atSecond t: Double, limit: Int = .max) -> Int {
        let due = share(of: plan.dueCount(atSecond: t)) - sent
        let count = max(0, min(due, limit))
        sent += count
        return count
    }

    /// When this lane's next transaction is due, in seconds after the start.
    public var nextDueSecond: Double {
        plan.dueSecond(ofTransaction: sent * lanes + lane + 1)
    }
}
