import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// One owner per consumer name: the lease a worker takes before it reads, against a real redis-server.
@Suite("Consumer-name lease against a real redis-server")
struct ConsumerLeaseTests {
    static var heldLine: Regex<(Substring, Substring)> { #/^consumer name 'w1' is held by another live worker \(lease expires in (\d+) s\)$/# }

    static func leaseKey(_ consumer: String = "w1") -> String {
        ConsumerLease.key(streams: StreamNames(), consumer: consumer)
    }

    /// Assembling (not running) a worker under `configuration` fails with ``FraudError``; returns it.
    static func refusal(_ harness: WorkerHarness, _ configuration: WorkerConfiguration) async throws -> FraudError {
        let worker = Worker(configuration: configuration, redis: harness.server.configuration, logger: WorkerHarness.quietLogger)
        do {
            _ = try await worker.assemble(signals: [])
        } catch let error as FraudError {
            return error
        }
        throw WaitTimeout(description: "a second worker named '\(configuration.consumerName)' was assembled")
    }

    static func consumerNames(_ harness: WorkerHarness) async throws -> [String] {
        try await harness.redis.send(XInfoConsumers(stream: "fraud:transactions", group: "inference_workers")).map(\.name)
    }

    @Test func secondWorkerWithTheSameNameRefusesAndTheNameIsFreeAfterACleanStop() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<50).map { WorkerHarness.fields($0) })
            let first = harness.configuration(consumer: "w1")
            try await harness.withWorker(first) { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 50)
                #expect(try await harness.redis.send(RedisCommand("GET", Self.leaseKey())).string == assembly.lease.token)
                let ttl = try await harness.redis.send(RedisCommand("PTTL", Self.leaseKey())).int ?? -2
                #expect(ttl > 0 && ttl <= first.leaseTTLMilliseconds)

                let refusal = try await Self.refusal(harness, harness.configuration(consumer: "w1"))
                #expect(refusal.code == .consumerNameInUse)
                let match = try #require(refusal.message.wholeMatch(of: Self.heldLine), "\(refusal.message)")
                #expect((1...10).contains(Int(match.1) ?? 0))
                // Another name is not affected.
                try await harness.withWorker(harness.configuration(consumer: "w2")) { _ in }
            }
            // A clean stop released the lease (and left the group): the name is free again.
            #expect(try await harness.redis.send(RedisCommand("EXISTS", Self.leaseKey())).int == 0)
            try await harness.publish((50..<60).map { WorkerHarness.fields($0) })
            try await harness.withWorker(first) { _ in
                try await harness.waitForLength("fraud:results", atLeast: 60)
            }
            let results = try await harness.entries("fraud:results")
            #expect(results.count == 60)
            #expect(Set(results.compactMap { $0["source_id"] }).count == 60)
        }
    }

    @Test func secondWorkerProcessPrintsOneLineAndExitsNonZero() async throws {
        try await WorkerHarness.with { harness in
            try await harness.withWorker(harness.configuration(consumer: "w1")) { _ in
                let outcome = try await FraudStreamBinary.run(
                    ["worker", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--consumer-name", "w1"], timeout: .seconds(60))
                #expect(outcome.status == FraudError.Code.consumerNameInUse.exitCode)
                let lines = outcome.standardError.split(separator: "\n")
                #expect(lines.count == 1, "stderr: \(outcome.standardError)")
                let line = String(lines.first ?? "")
                #expect(line.hasPrefix("fraudstream: "))
                #expect(line.dropFirst("fraudstream: ".count).wholeMatch(of: Self.heldLine) != nil, "\(line)")
            }
        }
    }

    @Test func leaseOfACrashedWorkerExpiresAndThenTheNameCanBeTaken() async throws {
        try await WorkerHarness.with { harness in
            // What a crashed worker leaves: its token under the key, expiring on its own. The TTL is long enough
            // that a loaded machine cannot let it run out while the second worker assembles.
            try await harness.redis.send(RedisCommand("SET", Self.leaseKey(), "crashed-token", "PX", 600_000))
            let refusal = try await Self.refusal(harness, harness.configuration(consumer: "w1"))
            #expect(refusal.code == .consumerNameInUse)
            let match = try #require(refusal.message.wholeMatch(of: Self.heldLine), "\(refusal.message)")
            #expect((1...600).contains(Int(match.1) ?? 0))
            #expect(try await harness.redis.send(RedisCommand("GET", Self.leaseKey())).string == "crashed-token")
            // Now let it run out, as it would once the crashed worker's TTL passes.
            try await harness.redis.send(RedisCommand("PEXPIRE", Self.leaseKey(), "300"))
            try await waitUntil("the crashed worker's lease to expire", timeout: .seconds(60)) {
                try await harness.redis.send(RedisCommand("EXISTS", Self.leaseKey())).int == 0
            }
            try await harness.publish((0..<20).map { WorkerHarness.fields($0) })
            try await harness.withWorker(harness.configuration(consumer: "w1")) { assembly in
                try await harness.waitForLength("fraud:results", atLeast: 20)
                #expect(try await harness.redis.send(RedisCommand("GET", Self.leaseKey())).string == assembly.lease.token)
            }
        }
    }

    @Test func workerRenewsItsLeaseAndStopsReadingWhenAnotherWorkerTookIt() async throws {
        try await WorkerHarness.with { harness in
            var configuration = harness.configuration(consumer: "w1")
            configuration.leaseTTLMilliseconds = 3_000  // renewed every second
            let worker = Worker(configuration: configuration, redis: harness.server.configuration, logger: WorkerHarness.quietLogger)
            let assembly = try await worker.assemble(signals: [])
            let run = Task { try await assembly.run() }
            // A renewal sets the TTL back up (waited for, not timed: a loaded machine may delay it).
            try await Task.sleep(for: .milliseconds(100))
            let before = try await harness.redis.send(RedisCommand("PTTL", Self.leaseKey())).int ?? 0
            try await waitUntil("a renewal of the lease", timeout: .seconds(20)) {
                try await harness.redis.send(RedisCommand("PTTL", Self.leaseKey())).int ?? 0 > before
            }
            #expect(try await harness.redis.send(RedisCommand("GET", Self.leaseKey())).string == assembly.lease.token)
            // As after a long pause: the lease expired and another worker took the name.
            try await harness.redis.send(RedisCommand("SET", Self.leaseKey(), "other-token", "PX", 30_000))
            let outcome = await run.result
            guard case .failure(let error as FraudError) = outcome else {
                Issue.record("expected the worker to stop with a lost lease, got \(outcome)")
                await assembly.group.triggerGracefulShutdown()
                return
            }
            #expect(error.code == .leaseLost)
            #expect(error.message.contains("lost consumer name 'w1'"))
            // It stopped reading, and the other worker's lease is untouched.
            try await harness.publish((0..<5).map { WorkerHarness.fields($0) })
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await harness.length("fraud:results") == 0)
            #expect(try await harness.redis.send(RedisCommand("GET", Self.leaseKey())).string == "other-token")
        }
    }

    @Test func deadConsumersWithNothingPendingAreRemovedAndOnesWithPendingOrALeaseAreKept() async throws {
        try await WorkerHarness.with { harness in
            let stream = "fraud:transactions", group = "inference_workers"
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", stream, group, "0", "MKSTREAM"))
            try await harness.publish((0..<5).map { WorkerHarness.fields($0) })
            for name in ["gone", "leased", "self"] {
                try await harness.redis.send(RedisCommand("XGROUP", "CREATECONSUMER", stream, group, name))
            }
            _ = try await harness.redis.send(
                XReadGroup(group: group, consumer: "busy", count: 5, blockMilliseconds: nil, streams: [(stream, ">")]))
            try await harness.redis.send(RedisCommand("SET", Self.leaseKey("leased"), "live-token", "PX", 60_000))
            try await Task.sleep(for: .milliseconds(250))

            var removal = IdleConsumerRemoval(
                streams: StreamNames(), ownName: "self", minimumIdleMilliseconds: 60_000, logger: WorkerHarness.quietLogger)
            #expect(await removal.run(on: harness.redis).isEmpty)  // nobody idle that long
            removal = IdleConsumerRemoval(streams: StreamNames(), ownName: "self", minimumIdleMilliseconds: 200, logger: WorkerHarness.quietLogger)
            #expect(await removal.run(on: harness.redis) == ["gone"])
            #expect(Set(try await Self.consumerNames(harness)) == ["busy", "leased", "self"])

            // The atomic check: a candidate that holds entries when the call runs is kept.
            let call = RemoveIdleConsumersCall(streams: StreamNames(), minimumIdleMilliseconds: 0)
            let removed = try RemoveIdleConsumersCall.decode(try await harness.redis.send(call.command(consumers: ["busy", "leased", "nosuch"])))
            #expect(removed.isEmpty)
            #expect(try await harness.pendingCount() == 5)
        }
    }

    @Test func workerTakesOverADeadConsumersEntriesAndThenRemovesIt() async throws {
        try await WorkerHarness.with { harness in
            let stream = "fraud:transactions", group = "inference_workers"
            try await harness.redis.send(RedisCommand("XGROUP", "CREATE", stream, group, "0", "MKSTREAM"))
            let ids = try await harness.publish((0..<30).map { WorkerHarness.fields($0) })
            _ = try await harness.redis.send(
                XReadGroup(group: group, consumer: "crashed", count: 10, blockMilliseconds: nil, streams: [(stream, ">")]))
            try await harness.redis.send(RedisCommand("XGROUP", "CREATECONSUMER", stream, group, "idle"))
            var configuration = harness.configuration(consumer: "rescuer")
            configuration.claimIdleMilliseconds = 200  // claims after 200 ms, removes consumers idle 400 ms
            try await harness.withWorker(configuration) { assembly in
                try await waitUntil("the dead consumers to be removed", timeout: .seconds(20)) {
                    try await Self.consumerNames(harness) == ["rescuer"]
                }
                #expect(await assembly.consumer.consumersRemoved == 2)
                try await harness.waitForLength("fraud:results", atLeast: 30)
            }
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
            #expect(results.count == 30)
        }
    }
}
