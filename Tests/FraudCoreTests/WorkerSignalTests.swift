import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// SIGTERM and SIGINT, sent as real signals to `fraudstream worker` processes.
@Suite("Worker process signals against a real redis-server")
struct WorkerSignalTests {
    /// A shutdown signal, named in test output.
    enum ShutdownSignal: String, CaseIterable, Sendable {
        case sigterm = "SIGTERM"
        case sigint = "SIGINT"

        var number: Int32 { self == .sigterm ? SIGTERM : SIGINT }
    }

    static let backlog = 10_000

    /// A worker process's arguments. The shutdown timeout is generous by default: a machine whose cores another job
    /// holds can stall a drain for seconds, and these tests are about signals, not the deadline.
    static func workerArguments(_ harness: WorkerHarness, _ extra: [String], shutdownTimeoutMilliseconds: Int = 60_000) -> [String] {
        ["worker", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--batch-size", "10", "--block-ms", "100",
         "--log-level", "warning", "--shutdown-timeout-ms", String(shutdownTimeoutMilliseconds)] + extra
    }

    /// Consumer names registered in the group.
    static func consumers(_ harness: WorkerHarness) async throws -> [String] {
        let reply = try await harness.redis.send(RedisCommand("XINFO", "CONSUMERS", "fraud:transactions", "inference_workers"))
        return (reply.array ?? []).compactMap { $0.stringPairs?["name"] }
    }

    /// After a graceful stop mid-stream: some results, each once, nothing pending, exact counters.
    static func expectDrainedMidStream(_ harness: WorkerHarness, ids: [String]) async throws {
        let results = try await harness.entries("fraud:results")
        let sources = results.compactMap { $0["source_id"] }
        #expect(sources.count < backlog)  // it stopped reading before the end of the backlog…
        #expect(try await harness.pendingCount() == 0)  // …and wrote and acknowledged everything it had read
        #expect(Set(sources).count == sources.count)
        #expect(Set(sources).isSubset(of: Set(ids)))
        let processed = try await harness.redis.send(RedisCommand("HGET", "fraud:stats:run:run-test", "processed")).int
        #expect(processed == sources.count)
    }

    @Test(arguments: ShutdownSignal.allCases)
    func workerProcessDrainsAndExitsZeroOnSignal(_ signal: ShutdownSignal) async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<Self.backlog).map { WorkerHarness.fields($0) })
            try await ChildProcess.run(Self.workerArguments(harness, ["--consumer-name", "signalled"])) { worker in
                try await harness.waitForLength("fraud:results", atLeast: 200)
                worker.send(signal.number)
                let termination = try await worker.waitForExit()
                #expect(termination == .exited(0), "stderr: \(worker.standardError)")
                #expect(!worker.standardError.contains("Fatal error"))
            }
            try await Self.expectDrainedMidStream(harness, ids: ids)
            #expect(try await Self.consumers(harness).isEmpty)  // drained, so it left the group
        }
    }

    @Test(arguments: ShutdownSignal.allCases)
    func supervisorForwardsSignalToBothWorkerProcesses(_ signal: ShutdownSignal) async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<Self.backlog).map { WorkerHarness.fields($0) })
            try await ChildProcess.run(Self.workerArguments(harness, ["--workers", "2", "--consumer-name", "sup"])) { supervisor in
                try await waitUntil("results from both worker processes") {
                    let newest = try await harness.redis.send(RedisCommand("XREVRANGE", "fraud:results", "+", "-", "COUNT", 500))
                    let workers = Set((newest.array ?? []).compactMap { $0.array?[1].stringPairs?["worker_id"] })
                    return workers.isSuperset(of: ["sup-1", "sup-2"])
                }
                let children = ChildProcess.children(of: supervisor.pid)
                #expect(children.count == 2)
                supervisor.send(signal.number)  // to the supervisor alone, not its process group
                let termination = try await supervisor.waitForExit()
                #expect(termination == .exited(0), "stderr: \(supervisor.standardError)")
                for child in children {
                    #expect(!ChildProcess.isAlive(child), "worker process \(child) still runs")
                }
            }
            try await Self.expectDrainedMidStream(harness, ids: ids)
            // Both children drained and left the group: each got the signal, neither was killed.
            #expect(try await Self.consumers(harness).isEmpty)
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["worker_id"] }) == ["sup-1", "sup-2"])
        }
    }

    @Test func supervisorRestartsAWorkerProcessThatWasKilled() async throws {
        try await WorkerHarness.with { harness in
            try await ChildProcess.run(Self.workerArguments(harness, ["--workers", "2", "--consumer-name", "sup"])) { supervisor in
                try await waitUntil("two worker processes") { ChildProcess.children(of: supervisor.pid).count == 2 }
                let before = ChildProcess.children(of: supervisor.pid)
                let victim = try #require(before.first)
                try await waitUntil("both workers to hold their leases") {
                    for name in ["sup-1", "sup-2"] where try await harness.redis.send(RedisCommand("EXISTS", ConsumerLeaseTests.leaseKey(name))).int != 1 {
                        return false
                    }
                    return true
                }
                kill(victim, SIGKILL)
                try await waitUntil("a new worker process in place of \(victim)", timeout: .seconds(60)) {
                    let now = ChildProcess.children(of: supervisor.pid)
                    return now.count == 2 && !now.contains(victim)
                }
                #expect(supervisor.standardError.contains("was killed by signal 9; restarting it"), "stderr: \(supervisor.standardError)")
                // The replacement takes its slot's name back at once (the slot keeps its lease token across restarts),
                // rather than being refused until the killed worker's lease expires; it stays up.
                let replacement = try #require(ChildProcess.children(of: supervisor.pid).first { !before.contains($0) })
                try await Task.sleep(for: .seconds(2))
                #expect(ChildProcess.isAlive(replacement), "stderr: \(supervisor.standardError)")
                #expect(!supervisor.standardError.contains("is held by another live worker"), "stderr: \(supervisor.standardError)")
                supervisor.send(SIGTERM)
                let termination = try await supervisor.waitForExit()
                #expect(termination == .exited(0), "stderr: \(supervisor.standardError)")
            }
        }
    }

    @Test func supervisorWithoutRestartsExitsNonZeroWhenAWorkerDies() async throws {
        try await WorkerHarness.with { harness in
            try await ChildProcess.run(
                Self.workerArguments(harness, ["--workers", "2", "--consumer-name", "sup", "--no-restart-children"])
            ) { supervisor in
                try await waitUntil("two worker processes") { ChildProcess.children(of: supervisor.pid).count == 2 }
                let victim = try #require(ChildProcess.children(of: supervisor.pid).first)
                kill(victim, SIGKILL)
                try await waitUntil("the slot to be given up") { supervisor.standardError.contains("not restarting it") }
                supervisor.send(SIGTERM)
                let termination = try await supervisor.waitForExit()
                #expect(termination == .exited(128 + SIGKILL), "stderr: \(supervisor.standardError)")
            }
        }
    }
}
