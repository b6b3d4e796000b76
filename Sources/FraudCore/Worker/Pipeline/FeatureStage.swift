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

    init(input: StageChannel<Batch>, output: StageChannel<Batch>, fetchers: [FeatureFetcher], counters: PipelineCounters) {
        self.input = input
        self.output = output
        self.fetchers = fetchers
        self.counters = counters
    }

    /// The fetcher index of a user.
    public static func route(_ userId: String, fetchers: Int) -> Int {
        Int(StableHash.hash(userId) % UInt64(max(1, fetchers)))
    }

    /// Featurizes batches until its input ends.
    public func run() async throws {
        defer { output.finish() }
        for await var batch in input {
            let start = ContinuousClock.now
            batch.timings.queueMicroseconds += (start - batch.dispatchedAt).microseconds
            let (vectors, roundTrips): ([[Double]], Int)
            do {
                (vectors, roundTrips) = try await self.vectors(for: batch.items)
            } catch let error as RedisError where error.code != .cancelled {
                throw FraudError(stage: "fetching features", error)
            }
            batch.vectors = vectors
            let elapsed = (ContinuousClock.now - start).microseconds
            batch.timings.featuresMicroseconds = elapsed
            counters.featured(microseconds: elapsed, roundTrips: roundTrips)
            batch.dispatchedAt = .now
            await counters.send(batch, on: output, at: .scoring)
        }
    }

    /// The vectors in item order, and how many fetchers (round trips) it took.
    private func vectors(for items: [BatchItem]) async throws -> ([[Double]], Int) {
        if items.isEmpty { return ([], 0) }
        if fetchers.count == 1 { return (try await fetchers[0].fetch(items.map(\.transaction)), 1) }
        var groups = [[Int]](repeating: [], count: fetchers.count)
        for (index, item) in items.enumerated() {
            groups[Self.route(item.transaction.userId, fetchers: fetchers.count)].append(index)
        }
        var result = [[Double]](repeating: [], count: items.count)
        try await withThrowingTaskGroup(of: (Int, [[Double]]).self) { group in
            for (fetcherIndex, indices) in groups.enumerated() where !indices.isEmpty {
                let transactions = indices.map { items[$0].transaction }
                let fetcher = fetchers[fetcherIndex]
                group.addTask { (fetcherIndex, try await fetcher.fetch(transactions)) }
            }
            for try await (fetcherIndex, vectors) in group {
                for (position, index) in groups[fetcherIndex].enumerated() { result[index] = vectors[position] }
            }
        }
        return (result, groups.filter { !$0.isEmpty }.count)
    }
}
