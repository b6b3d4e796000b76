import Synchronization

/// Lock-free counters of what each stage has handled, for `--profile` and tests.
public final class PipelineCounters: Sendable {
    private let read = Atomic<Int>(0)
    private let written = Atomic<Int>(0)
    private let deadLettered = Atomic<Int>(0)
    private let duplicated = Atomic<Int>(0)
    private let featureMicros = Atomic<Int>(0)
    private let scoringMicros = Atomic<Int>(0)
    private let writeMicros = Atomic<Int>(0)
    private let queueMicros = Atomic<Int>(0)
    private let roundTrips = Atomic<Int>(0)
    private let batches = Atomic<Int>(0)
    private let waitingForFeatures = Atomic<Int>(0)
    private let waitingForScoring = Atomic<Int>(0)
    private let waitingForWriter = Atomic<Int>(0)
    private let waitingForCompletion = Atomic<Int>(0)

    /// The edges between stages; a batch waits at one while the next stage is busy (the channel depth).
    public enum Edge: String, CaseIterable, Sendable {
        /// Batcher to feature stage.
        case features = "batcher_to_features"
        /// Feature stage to scoring stage.
        case scoring = "features_to_scoring"
        /// Scoring stage to result writers.
        case writer = "scoring_to_writer"
        /// Result writers to acknowledgement bookkeeping.
        case completion = "writer_to_completion"
    }

    /// Sends `element` on `channel`, counted as waiting at `edge` until the next stage takes it.
    func send<Element: Sendable>(_ element: Element, on channel: StageChannel<Element>, at edge: Edge) async {
        bump(edge, 1)
        await channel.send(element)
        bump(edge, -1)
    }

    /// Batches waiting at `edge` now.
    public func waiting(at edge: Edge) -> Int {
        switch edge {
        case .features: waitingForFeatures.load(ordering: .relaxed)
        case .scoring: waitingForScoring.load(ordering: .relaxed)
        case .writer: waitingForWriter.load(ordering: .relaxed)
        case .completion: waitingForCompletion.load(ordering: .relaxed)
        }
    }

    private func bump(_ edge: Edge, _ delta: Int) {
        switch edge {
        case .features: waitingForFeatures.bump(delta)
        case .scoring: waitingForScoring.bump(delta)
        case .writer: waitingForWriter.bump(delta)
        case .completion: waitingForCompletion.bump(delta)
        }
    }

    /// Creates zeroed counters.
    public init() {}

    func featured(microseconds: Int64, roundTrips trips: Int) {
        featureMicros.bump(Int(microseconds))
        roundTrips.bump(trips)
    }
    func scored(microseconds: Int64) {
        scoringMicros.bump(Int(microseconds))
    }
    func written(_ count: Int, deadLetters: Int, duplicates: Int = 0, microseconds: Int64, queueMicroseconds: Int64) {
        written.bump(count)
        deadLettered.bump(deadLetters)
        duplicated.bump(duplicates)
        writeMicros.bump(Int(microseconds))
        queueMicros.bump(Int(queueMicroseconds))
        roundTrips.bump(1)
        batches.bump(1)
    }
    func readRoundTrip() { roundTrips.bump(1) }

    /// A consistent-enough copy for reports.
    public struct Snapshot: Sendable, Equatable {
        /// Results written and entries dead-lettered since start.
        public var written = 0, deadLettered = 0
        /// Duplicates acknowledged without a result (``DecisionClaim``).
        public var duplicates = 0
        /// Summed stage times in µs.
        public var featureMicroseconds = 0, scoringMicroseconds = 0, writeMicroseconds = 0, queueMicroseconds = 0
        /// Redis round trips and written batches.
        public var roundTrips = 0, batches = 0
    }

    /// Current values.
    public var snapshot: Snapshot {
        Snapshot(
            written: written.load(ordering: .relaxed),
            deadLettered: deadLettered.load(ordering: .relaxed), duplicates: duplicated.load(ordering: .relaxed), featureMicroseconds: featureMicros.load(ordering: .relaxed),
            scoringMicroseconds: scoringMicros.load(ordering: .relaxed), writeMicroseconds: writeMicros.load(ordering: .relaxed),
            queueMicroseconds: queueMicros.load(ordering: .relaxed), roundTrips: roundTrips.load(ordering: .relaxed),
            batches: batches.load(ordering: .relaxed))
    }
}

extension Atomic where Value == Int {
    func bump(_ value: Int) { _ = wrappingAdd(value, ordering: .relaxed) }
}
