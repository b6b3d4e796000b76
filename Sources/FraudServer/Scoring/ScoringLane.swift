import FraudCore
import Logging
import RedisClient

/// One scoring lane: takes a micro-batch of its users' transactions from the queue and decides it in two
/// pipelined round trips on its own connection (whose thread does the blocking I/O):
///
/// 1. each transaction's decision key (`GET`: a retry returns the first decision) and the worker's feature
///    calls for the batch (`fs_user_features`, `fs_device_events`, the blocklist check); the feature functions
///    skip a transaction id already folded in, so a retry counts nothing twice;
/// 2. after scoring, `SET <decision key> <decision> NX GET PX <ttl>` per decided transaction: the first writer
///    of an id wins and a concurrent duplicate gets the winner's decision back.
///
/// Decisions that won their key go to the recorder (results stream, `source=api`, and run statistics) after
/// the clients have their answers. When a round trip fails, the batch's requests are answered degraded at
/// once (those past their deadline were already), and the answers they got go to the decision journal, which
/// records them once Redis is back (``DecisionJournal``).
///
/// The lane is an actor on its connection's thread: its loop, the round trips and the bookkeeping between them run
/// there, so a batch costs no hop between the cooperative pool and the I/O thread (on a two-core machine each hop
/// is a thread wake-up that showed as a large share of the server's CPU at a few thousand requests per second).
actor ScoringLane {
    let index: Int
    let admission: RequestAdmission
    let connection: RedisConnection
    let logger: Logger

    /// Runs on the connection's thread.
    nonisolated var unownedExecutor: UnownedSerialExecutor { connection.executor.asUnownedSerialExecutor() }

    init(index: Int, admission: RequestAdmission, connection: RedisConnection, logger: Logger) {
        self.index = index
        self.admission = admission
        self.connection = connection
        self.logger = logger
    }

    /// Decides batches until the queue is closed and drained.
    func run() async {
        var outage = OutageLog("API scoring lane \(index)")
        while true {
            let batch = await admission.queue.next(lane: index, maximum: admission.configuration.batchSize)
            if batch.isEmpty { return }
            let picked = ContinuousClock.now
            // Each transaction's claim on its decision key; a repeat of a transaction in the batch shares its first's.
            let claimants = claimants(batch)
            do {
                try await decide(batch, claimants: claimants)
                outage.succeeded(logger: logger)
            } catch {
                outage.failed(error, logger: logger, detail: ["transactions": "\(batch.count)"])
                // The expire rule: a computed answer (its SET may have been applied) wins over a degraded one.
                for item in batch { item.expire(degraded: admission.degradedAnswer(item.transaction)) }
                // What the clients got (replayed answers were recorded when first given) is kept for the audit trail, once
                // per transaction, under its claim (the journal records nothing for a transaction another arrival decided).
                // Latency is what the client saw: receipt to answer, not to this failure.
                var kept: Set<String> = []
                admission.keepUnrecorded(zip(batch, claimants).compactMap { item, claimant in
                    guard let (given, at) = item.answered, !given.replayed, given.refusal == nil, kept.insert(claimant).inserted else {
                        return nil
                    }
                    return RecordDecisionsCall.Record(
                        transaction: item.transaction, decision: given.decision, latencyMicroseconds: (at - item.receivedAt).microseconds,
                        featuresMicroseconds: 0, scoringMicroseconds: 0, degraded: given.degraded, claimant: claimant)
                })
            }
            admission.queue.finish(
                batch.count, queuedMicroseconds: (picked - (batch.map(\.receivedAt).min() ?? picked)).microseconds,
                serviceMicroseconds: (ContinuousClock.now - picked).microseconds)
        }
    }

    /// A claimant per batch position: `api:<server>:<lane>-<n>`, the same for a transaction's repeats in the batch.
    private func claimants(_ batch: [PendingDecision]) -> [String] {
        var seen: [String: String] = [:]
        return batch.map { item in
            let key = item.transaction.userId + "\u{0}" + item.transaction.transactionId
            if let claimant = seen[key] { return claimant }
            let claimant = "api:\(admission.configuration.serverId):\(nextClaim())"
            seen[key] = claimant
            return claimant
        }
    }

    private func decide(_ batch: [PendingDecision], claimants: [String]) async throws(RedisError) {
        let clock = ContinuousClock()
        let started = clock.now
        // The same transaction twice in one batch: only the first goes to Redis; the others get its answer.
        var leaders: [Int] = []
        var followers: [(index: Int, leader: Int)] = []
        var seen: [String: Int] = [:]
        for (index, claimant) in claimants.enumerated() {
            if let leader = seen[claimant] { followers.append((index, leader)) } else {
                seen[claimant] = index
                leaders.append(index)
            }
        }
        let transactions = leaders.map { batch[$0].transaction }
        let claims = leaders.map { DecisionClaim(batch[$0].transaction, claimant: claimants[$0]) }
        let decisionKeys = transactions.map { admission.keys.decision(user: $0.userId, transaction: $0.transactionId) }
        let ttl = admission.configuration.idempotencyTTLSeconds * 1000
        let extractor = admission.extractor
        let plan = extractor.plan(transactions)
        // One round trip: each transaction's decision claim, then the feature calls (idempotent for a duplicate).
        let replies = try await featureRoundTrip(zip(claims, decisionKeys).map { $0.command(key: $1, ttlMilliseconds: ttl) } + plan.commands)
        var vectors = try extractor.vectors(transactions, plan: plan, replies: Array(replies[transactions.count...]))
        // A feature set whose measures read state-derived built-in features: its calls in one more round trip.
        try await extractor.completeEntities(&vectors, transactions, plan: plan, on: connection)
        let featuresDone = clock.now

        var toScore: [Int] = []  // positions in leaders
        for (position, index) in leaders.enumerated() {
            switch try claims[position].status(replies[position]) {
            case .first, .again: toScore.append(position)
            case .duplicate(let stored): batch[index].settle(stored?.replayedAnswer ?? .refused(.inProgress))
            case .conflict: batch[index].settle(.refused(.duplicateConflict))
            }
        }
        var records: [RecordDecisionsCall.Record] = []
        if !toScore.isEmpty {
            let explained = admission.serving.decide(
                toScore.map { vectors[$0] }, transactions: toScore.map { transactions[$0] }, explain: toScore.map { batch[leaders[$0]].explain },
                features: extractor.entities?.names ?? [])
            let scored = clock.now
            let featuresMicroseconds = (featuresDone - started).microseconds
            let scoringMicroseconds = (scored - featuresDone).microseconds
            for (slot, position) in toScore.enumerated() {
                let result = explained[slot]
                let item = batch[leaders[position]]
                let answer = DecisionAnswer(
                    decision: result.decision, features: item.explain ? vectors[position] : nil, featureNames: item.explain ? extractor.names : nil,
                    baseMargin: result.contributions == nil ? nil : result.baseMargin, contributions: result.contributions)
                // The client gets its answer now (a degraded one given at the deadline wins); the recorder stores exactly
                // that under the decision key and records it, in one write (until then a retry is told to retry shortly).
                let given = item.settle(answer)
                records.append(RecordDecisionsCall.Record(
                    transaction: item.transaction, decision: given.decision,
                    latencyMicroseconds: ((item.answered?.at ?? clock.now) - item.receivedAt).microseconds,
                    featuresMicroseconds: featuresMicroseconds, scoringMicroseconds: scoringMicroseconds, degraded: given.degraded,
                    vector: given.degraded ? nil : vectors[position], claimant: claims[position].claimant))
            }
        }
        for (index, leader) in followers {
            let same = DecisionClaim.fingerprint(of: batch[index].transaction) == DecisionClaim.fingerprint(of: batch[leader].transaction)
            var answer = batch[leader].answer ?? .refused(.inProgress)
            if !same { answer = .refused(.duplicateConflict) } else if answer.refusal == nil { answer.replayed = true }
            answer.features = nil
            answer.contributions = nil
            answer.baseMargin = nil
            batch[index].settle(answer)
        }
        await admission.records.append(records)
    }

    /// Numbers this lane's claims (with the server id and the lane: unique per request).
    private var claimNumber = 0
    private func nextClaim() -> String {
        claimNumber += 1
        return "\(index)-\(claimNumber)"
    }

    /// The first round trip; a library missing after a Redis restart or `FUNCTION FLUSH` is loaded again and
    /// the round trip repeated (the functions count nothing twice).
    private func featureRoundTrip(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        // A new socket (Redis restarted, or failed over) may lead to an empty Redis: the namespace's state is checked
        // before the claims are written, so nothing is written to a Redis that lost it.
        let (connected, reconnects) = await connection.socketState
        if !connected || reconnects != reconnectsSeen {
            // Reading the epoch opens the new socket.
            try await waitForState(onlyIfLost: true)
            reconnectsSeen = await connection.reconnectCount
        }
        let replies = try await connection.pipeline(commands)
        guard replies.contains(where: { $0.errorMessage?.contains("Function not found") == true }) else { return replies }
        try await waitForState(onlyIfLost: false)
        return try await connection.pipeline(commands)
    }

    /// The connection's reconnects this lane has checked the state after.
    private var reconnectsSeen = 0

    /// No epoch: Redis lost the namespace's state. Nothing is decided on an empty state; the lane waits (its requests
    /// are answered at their deadline, later ones get 503 state_lost) until it is back, then loads the functions.
    /// `onlyIfLost`: with the epoch present, nothing more is done (else the library is loaded again, as after
    /// `FUNCTION FLUSH`).
    private func waitForState(onlyIfLost: Bool) async throws(RedisError) {
        let epoch = NamespaceEpoch(namespace: admission.configuration.namespace)
        let lost = try await epoch.read(on: connection) == nil
        if onlyIfLost && !lost { return }
        if !admission.configuration.keepServingOnStateLoss, lost {
            admission.stateGuard.mark(lost: true)
            try await epoch.waitUntilPresent(on: connection)
        }
        try await FunctionLibrary.features.load(on: connection)
    }
}
