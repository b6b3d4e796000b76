import FraudCore
import Logging
import RedisClient
import ServiceLifecycle

/// Records what the ``DecisionJournal`` holds once Redis answers again: every second while it is not empty, a batch
/// at a time, each through the same record call as the recorder (results stream with `degraded=1` where the answer
/// was degraded, run statistics, counts over time), under the journal's own instance id so a repeated call writes
/// nothing twice. Each replayed decision is also stored under its decision key unless one is there already, so a retry
/// of that transaction id gets the answer the client got.
struct JournalReplayer: Service {
    let journal: DecisionJournal
    let connection: RedisConnection
    let call: RecordDecisionsCall
    let keys: FeatureKeys
    let idempotencyTTLMilliseconds: Int
    let metrics: FraudMetrics
    let logger: Logger
    /// How often a non-empty journal is tried.
    var intervalMilliseconds = 1_000
    /// Most entries per call.
    static let batchSize = 500

    /// Replays until graceful shutdown; what is left stays in the file for the next start.
    func run() async {
        metrics.gauge(FraudMetrics.Name.apiJournalEntries).record(journal.count)
        var outage = OutageLog("replaying the decision journal")
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var progressed = false
            if journal.count > 0 {
                do {
                    while try await replayBatch() { progressed = true }
                    outage.succeeded(logger: logger)
                } catch {
                    if Task.isCancelled { return }
                    outage.failed(error, logger: logger, detail: ["waiting": "\(journal.count)"])
                }
            }
            metrics.gauge(FraudMetrics.Name.apiJournalEntries).record(journal.count)
            if !progressed { await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds) }
        }
    }

    /// Records the journal's next batch; `false` when it is empty.
    func replayBatch() async throws -> Bool {
        // Not into a namespace whose state Redis lost (it would look as if it had served traffic): wait for it.
        guard try await NamespaceEpoch(namespace: call.namespace).read(on: connection) != nil else { return false }
        let batch = try journal.nextBatch(maximum: Self.batchSize)
        guard let last = batch.last else { return false }
        // Calls the recorder may have applied before it stopped: skipped when this server instance's marker shows them.
        var applied: Set<Int> = []
        let uncertain = batch.filter { $0.maybeApplied != nil }
        if !uncertain.isEmpty {
            let markers = uncertain.map { entry in
                RedisCommand("GET", call.forPartition(entry.maybeApplied!.partition).instanceMarker(entry.maybeApplied!.instance))
            }
            for (entry, reply) in zip(uncertain, try await connection.pipeline(markers)) {
                if let marker = try reply.get().int, let maybe = entry.maybeApplied, marker >= maybe.sequence { applied.insert(entry.sequence) }
            }
        }
        var records = batch.filter { !applied.contains($0.sequence) }.map(\.record)
        if !records.isEmpty {
            // Each decision goes to its decision key unless another decision is there (a key still holding only a
            // claim, from a round trip that failed after claiming, is this very decision's and is filled in). A key
            // holding another arrival's decision means the journalled answer went to a retry of a transaction already
            // decided (its round trip failed before it could learn so): the first decision stands and nothing is
            // recorded twice.
            let decisionKeys = records.map { keys.decision(user: $0.transaction.userId, transaction: $0.transaction.transactionId) }
            let held = try await connection.pipeline(decisionKeys.map { RedisCommand("GET", $0) })
            var stores: [RedisCommand] = []
            var duplicates: Set<Int> = []
            var storing: Set<String> = []
            for (index, record) in records.enumerated() {
                let existing = held[index].bytes.flatMap { StoredDecision(text: String(decoding: $0, as: UTF8.self)) }
                if let existing, existing.decision != nil, let claimant = record.claimant, existing.claimant != claimant {
                    duplicates.insert(index)
                    continue
                }
                guard held[index].isNull || (existing != nil && existing?.decision == nil) else { continue }
                // The same transaction twice in this batch (two arrivals both answered while Redis was away): the first.
                guard storing.insert(decisionKeys[index]).inserted else {
                    duplicates.insert(index)
                    continue
                }
                // Under the answer's own claim, so a repeat of this call after a failure knows the decision as its own.
                stores.append(DecisionClaim(record.transaction, claimant: record.claimant ?? "journal:\(journal.instance)").storeCommand(
                    key: decisionKeys[index], decision: record.decision, degraded: record.degraded, ttlMilliseconds: idempotencyTTLMilliseconds))
            }
            if !stores.isEmpty { for reply in try await connection.pipeline(stores) { _ = try reply.get() } }
            if !duplicates.isEmpty {
                metrics.counter(FraudMetrics.Name.apiJournalDuplicates).increment(by: duplicates.count)
                logger.notice(
                    "answers kept while Redis was away went to retries of transactions already decided; the first decisions stand",
                    metadata: ["decisions": "\(duplicates.count)"])
                records = records.enumerated().filter { !duplicates.contains($0.offset) }.map(\.element)
            }
        }
        if !records.isEmpty {
            for (partition, group) in Dictionary(grouping: records, by: { call.partition(forUser: $0.transaction.userId) })
                .sorted(by: { $0.key < $1.key }) {
                let command = call.forPartition(partition).command(group, instance: journal.instance, sequence: last.sequence)
                let written = try await reloadingLibraryOnce(command)
                if written > 0 {
                    metrics.recorded(group)
                    metrics.counter(FraudMetrics.Name.apiJournalRecorded).increment(by: written)
                }
            }
        }
        try journal.recorded(through: last.sequence)
        logger.notice("recorded decisions kept while Redis was away", metadata: ["decisions": "\(records.count)", "waiting": "\(journal.count)"])
        return true
    }

    /// The record call; a library missing after Redis lost its data is loaded again, once.
    private func reloadingLibraryOnce(_ command: RedisCommand) async throws(RedisError) -> Int {
        do {
            return try RecordDecisionsCall.decode(try await connection.send(command))
        } catch where error.message.contains("Function not found") {
            // Not into a namespace whose state Redis lost: the journal keeps them until it is back.
            try await NamespaceEpoch(namespace: call.namespace).waitUntilPresent(on: connection)
            try await FunctionLibrary.results.load(on: connection)
            return try RecordDecisionsCall.decode(try await connection.send(command))
        }
    }
}
