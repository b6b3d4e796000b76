import RedisClient
import ServiceLifecycle

/// Fans each batch out to the feature fetchers, routed by a hash of `user_id` so one user's
/// transactions always go to the same fetcher, and joins the vectors back in batch order.
///
/// Batches pass one at a time, so a user's transactions are featurized in stream order even with
/// several fetchers; the fetchers of one batch run in parallel round trips.
public struct FeatureStage: Service {
    private let input: StageChannel<Batch>
    private let output: StageChannel<Batch>
    private let fetchers: [FeatureFetcher]
    private let counters: PipelineCounters
    /// Input partitions: a user's fetcher is chosen within its partition (``UserRoute``).
    private let partitions: Int

    init(input: StageChannel<Batch>, output: StageChannel<Batch>, fetchers: [FeatureFetcher], counters: PipelineCounters, partitions: Int = 1) {
        self.partitions = partitions
        self.input = input
        self.output = output
        self.fetchers = fetchers
        self.counters = counters
    }

    /// The fetcher index of a user (``UserRoute``), within its partition when the input has `partitions`.
    public static func route(_ userId: String, fetchers: Int, partitions: Int = 1) -> Int {
        UserRoute.connection(of: userId, count: fetchers, partitions: partitions)
    }

    /// Featurizes batches until its input ends.
    public func run() async throws {
        defer { output.finish() }
        for await var batch in input {
            let start = ContinuousClock.now
            batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
            let (vectors, statuses, roundTrips): ([[Double]], [DecisionClaim.Status], Int)
            // One feature set for the whole batch, whichever fetchers compute it.
            let extractor = fetchers.first?.serving.extractor
            do {
                (vectors, statuses, roundTrips) = try await self.vectors(for: batch.items, extractor: extractor)
            } catch let error as RedisError where error.code != .cancelled {
                throw FraudError(stage: "fetching features", error)
            }
            batch.vectors = vectors
            batch.featureNames = extractor?.entities?.names ?? []
            Self.separateDuplicates(&batch, statuses: statuses)
            let elapsed = (ContinuousClock.now - start).microseconds
            batch.timings.featuresMicroseconds = elapsed
            counters.featured(microseconds: elapsed, roundTrips: roundTrips)
            batch.dispatchedAt = .now
            await counters.send(batch, on: output, at: .scoring)
        }
    }

    /// The vectors and claim statuses in item order, and how many fetchers (round trips) it took.
    private func vectors(for items: [BatchItem], extractor: FeatureExtractor?) async throws -> ([[Double]], [DecisionClaim.Status], Int) {
        if items.isEmpty { return ([], [], 0) }
        if fetchers.count == 1 {
            let fetched = try await fetchers[0].fetch(items, extractor: extractor)
            return (fetched.vectors, fetched.statuses, 1)
        }
        var groups = [[Int]](repeating: [], count: fetchers.count)
        for (index, item) in items.enumerated() {
            groups[Self.route(item.transaction.userId, fetchers: fetchers.count, partitions: partitions)].append(index)
        }
        var vectors = [[Double]](repeating: [], count: items.count)
        var statuses = [DecisionClaim.Status](repeating: .first, count: items.count)
        try await withThrowingTaskGroup(of: (Int, [[Double]], [DecisionClaim.Status]).self) { group in
            for (fetcherIndex, indices) in groups.enumerated() where !indices.isEmpty {
                let part = indices.map { items[$0] }
                let fetcher = fetchers[fetcherIndex]
                group.addTask {
                    let fetched = try await fetcher.fetch(part, extractor: extractor)
                    return (fetcherIndex, fetched.vectors, fetched.statuses)
                }
            }
            for try await (fetcherIndex, partVectors, partStatuses) in group {
                for (position, index) in groups[fetcherIndex].enumerated() {
                    vectors[index] = partVectors[position]
                    statuses[index] = partStatuses[position]
                }
            }
        }
        return (vectors, statuses, groups.filter { !$0.isEmpty }.count)
    }

    /// Takes the batch's duplicates out: a duplicate of a transaction decided (or being decided) by an earlier arrival
    /// is acknowledged without a result; one whose contract fields differ is dead-lettered `duplicate_conflict`.
    static func separateDuplicates(_ batch: inout Batch, statuses: [DecisionClaim.Status]) {
        guard statuses.contains(where: { if case .first = $0 { false } else if case .again = $0 { false } else { true } }) else { return }
        var items: [BatchItem] = []
        var vectors: [[Double]] = []
        for (index, item) in batch.items.enumerated() {
            switch statuses[index] {
            case .first, .again:
                items.append(item)
                vectors.append(batch.vectors[index])
            case .duplicate:
                batch.duplicates.append(item.sourceId)
            case .conflict:
                batch.deadLetters.append(DeadLetter(
                    sourceId: item.sourceId,
                    reason: "transaction_id '\(item.transaction.transactionId.prefix(128))' was decided before with other contract fields; "
                        + "the first decision stands",
                    runId: item.transaction.runId ?? "", fields: item.transaction.streamFields, kind: "duplicate_conflict"))
            }
        }
        batch.items = items
        batch.vectors = vectors
    }
}
