import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("Partitioned input on a single redis-server")
struct PartitionTests {
    @Test func workersSplittingThePartitionSetDrainEveryPartitionOnce() async throws {
        try await WorkerHarness.with { harness in
            let streams = StreamNames(namespace: "fraud").partitioned(count: 3)
            #expect(streams.partitions.map(\.transactions) == ["fraud:transactions:{p0}", "fraud:transactions:{p1}", "fraud:transactions:{p2}"])
            let count = 900
            var published = 0
            for index in 0..<count {
                let fields = WorkerHarness.fields(index)
                let user = try #require(fields.first { $0.0 == "user_id" }?.1)
                try await harness.publish([fields], stream: streams.partition(forUser: user).transactions)
                published += 1
            }
            #expect(published == count)
            var first = harness.configuration(consumer: "a")
            first.streams = streams
            first.partitionSet = [0, 1]
            var second = harness.configuration(consumer: "b")
            second.streams = streams
            second.partitionSet = [2]
            func written() async throws -> Int {
                var total = 0
                for partition in streams.partitions { total += try await harness.length(partition.results) }
                return total
            }
            try await harness.withWorker(first) { a in
                #expect(a.partitions.map(\.streams.partitionIndex) == [0, 1])
                try await harness.withWorker(second) { b in
                    #expect(b.partitions.map(\.streams.partitionIndex) == [2])
                    try await waitUntil("every partition is drained") { try await written() == count }
                }
            }
            var ids: [String] = []
            for partition in streams.partitions {
                let results = try await harness.entries(partition.results)
                ids += results.compactMap { $0["transaction_id"] }
                #expect(try await harness.pendingCount(stream: partition.transactions) == 0)
                // A user's results stay in the user's partition.
                for result in results {
                    #expect(streams.partition(forUser: result["user_id"] ?? "").partitionIndex == partition.partitionIndex)
                }
            }
            #expect(ids.count == count && Set(ids).count == count)
            // The run's statistics add up over the partitions' statistics keys.
            let statistics = try await RunStatistics.load(
                run: "run-test", namespace: "fraud", resultsStreams: streams.partitions.map(\.results), on: harness.redis)
            #expect(statistics.processed == count)
            #expect(statistics.workers.keys.sorted() == ["a", "b"])
        }
    }

    @Test func aPartitionSetOutsideThePartitionsIsRefused() throws {
        var configuration = WorkerConfiguration()
        configuration.streams = StreamNames(namespace: "fraud").partitioned(count: 2)
        configuration.partitionSet = [0, 5]
        #expect(configuration.problem()?.contains("partition 5, but there are 2") == true)
        #expect(StreamNames.partitionIndex(forUser: "u42", count: 1) == 0)
        #expect(StreamNames.partitionIndex(forUser: "123456789", count: 7) == 0x31C3 % 7)
    }
}
