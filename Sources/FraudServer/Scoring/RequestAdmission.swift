import Foundation
import FraudCore
import Logging
import RedisClient
import Synchronization

/// The synchronous decision path: admits transactions into the bounded ``ScoreQueue``, lets the scoring
/// lanes decide them in micro-batches with the worker's feature functions, model and rules, and answers
/// each request by its deadline, degraded when Redis could not be had in time.
public final class RequestAdmission: Sendable {
    /// Settings.
    public let configuration: ServeConfiguration
    /// The model, shadow, rules and features (hot swap between batches; the worker decides with the same holder).
    public let serving: ServingState
    let queue: ScoreQueue
    let records: RecordBuffer
    let deadlines: DeadlineQueue
    let keys: FeatureKeys
    let counters = EngineCounters()
    /// Decisions given but not recorded yet (Redis away), persisted until ``JournalReplayer`` records them.
    let journal: DecisionJournal?
    /// Counts decisions the journal could not keep.
    let unrecordedCounter: (@Sendable (Int) -> Void)?
    /// Whether the namespace's state is still in Redis (``StateWatcher`` marks it).
    public let stateGuard: StateGuard
    private let logger: Logger

    /// Creates an admission deciding with `serving`.
    init(
        configuration: ServeConfiguration, serving: ServingState, logger: Logger, journal: DecisionJournal? = nil, unrecordedCounter: (@Sendable (Int) -> Void)? = nil
    ) {
        self.configuration = configuration
        self.journal = journal
        self.unrecordedCounter = unrecordedCounter
        self.logger = logger
        stateGuard = StateGuard(keepServing: configuration.keepServingOnStateLoss)
        self.serving = serving
        queue = ScoreQueue(
            capacity: configuration.maxInFlight, lanes: configuration.lanes, partitions: configuration.streams.partitionCount,
            batchSize: configuration.batchSize, deadlineMilliseconds: configuration.deadlineMilliseconds)
        records = RecordBuffer(capacity: max(1_000, configuration.maxInFlight * 2))
        keys = FeatureKeys(namespace: configuration.namespace)
        deadlines = DeadlineQueue(deadlineMilliseconds: configuration.deadlineMilliseconds)
    }

    /// The feature definitions in use (the blocklist's shape can change while serving).
    var extractor: FeatureExtractor { serving.extractor }

    /// Transactions admitted and not yet finished.
    public var depth: Int { queue.depth }

    /// The admission bound now (``AdmissionLimit``).
    public var admissionLimit: Int { queue.admissionLimit }

    /// Counts of answers by kind.
    public var answerCounts: EngineCounters.Snapshot { counters.snapshot }

    /// Decides `transactions`, answering each by the deadline; `nil` when the queue has no room for all of
    /// them (the caller answers `503`).
    public func decide(
        _ transactions: [Transaction], explain: Bool, receivedAt: ContinuousClock.Instant = .now
    ) async -> [GivenAnswer]? {
        let pending = transactions.map { PendingDecision(transaction: $0, explain: explain, receivedAt: receivedAt) }
        guard queue.submit(pending) else {
            counters.add(overloaded: transactions.count)
            return nil
        }
        // At the deadline, whatever is still waiting is answered from the transaction alone (DeadlineQueue).
        deadlines.add(pending, deadline: receivedAt + .milliseconds(configuration.deadlineMilliseconds))
        var answers: [GivenAnswer] = []
        answers.reserveCapacity(pending.count)
        for item in pending {
            let answer = await item.wait()
            // The latency the response reports is the one the audit trail records: receipt to answer.
            let at = item.answered?.at ?? .now
            answers.append(GivenAnswer(answer: answer, latencyMicroseconds: (at - receivedAt).microseconds))
        }
        counters.add(answers.map(\.answer))
        return answers
    }

    /// An answer and the latency it was given with (receipt to answer, as recorded).
    public struct GivenAnswer: Sendable {
        /// The answer.
        public var answer: DecisionAnswer
        /// Receipt of the request to the answer, in microseconds.
        public var latencyMicroseconds: Int64
    }

    /// Keeps decisions clients received that could not be recorded (Redis away) in the journal, to be recorded once
    /// Redis is back; what the journal cannot keep is counted and logged as lost from the audit trail.
    func keepUnrecorded(_ records: [RecordDecisionsCall.Record], maybeApplied: DecisionJournal.MaybeApplied? = nil) {
        guard !records.isEmpty else { return }
        let lost = journal?.append(records, maybeApplied: maybeApplied) ?? records.count
        if lost > 0 {
            counters.add(unrecorded: lost)
            unrecordedCounter?(lost)
            logger.error(
                "decisions given to clients could not be kept for the audit trail (the decision journal is full or off)",
                metadata: ["decisions": "\(lost)", "journal_capacity": "\(journal?.capacity ?? 0)"])
        }
    }

    /// Answers requests at their deadline until ``deadlines`` is closed (after the lanes have finished).
    func answerAtDeadlines() async {
        await deadlines.run { item in item.expire(degraded: self.degradedAnswer(item.transaction)) }
    }

    /// The answer without state: the model on the transaction-only vector, the `--on-timeout` decision and
    /// the reason `degraded`.
    func degradedAnswer(_ transaction: Transaction) -> DecisionAnswer {
        DecisionAnswer(decision: serving.degraded(transaction, decision: configuration.onTimeout), degraded: true)
    }
}

/// Answers by kind since the server started (for logs, `/readyz` detail and tests).
public final class EngineCounters: Sendable {
    /// A reading of the counters.
    public struct Snapshot: Sendable, Equatable {
        /// Answers computed from fresh features.
        public var scored = 0
        /// Stored first decisions returned to a retry.
        public var replayed = 0
        /// Degraded answers.
        public var degraded = 0
        /// Transactions refused with `503`.
        public var overloaded = 0
        /// Duplicates refused with `409` (``DecisionAnswer/Refusal``).
        public var refused = 0
        /// Decided transactions whose decision could not be stored or recorded (Redis failed).
        public var unrecorded = 0
    }

    private let state = Mutex(Snapshot())

    /// The current counts.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func add(_ answers: [DecisionAnswer]) {
        state.withLock { counts in
            for answer in answers {
                if answer.refusal != nil { counts.refused += 1 } else if answer.degraded { counts.degraded += 1 } else if answer.replayed {
                    counts.replayed += 1
                } else {
                    counts.scored += 1
                }
            }
        }
    }

    func add(overloaded: Int) { state.withLock { $0.overloaded += overloaded } }

    func add(unrecorded: Int) { state.withLock { $0.unrecorded += unrecorded } }
}
