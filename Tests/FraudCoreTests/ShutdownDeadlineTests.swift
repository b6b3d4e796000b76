import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudServer

@testable import FraudCore

/// `--shutdown-timeout-ms` bounds a whole shutdown, Redis calls included: with a stage that never finishes and with
/// a frozen (`SIGSTOP`) redis-server. The bounds asserted are far below what the old behaviour took (a stage's
/// whole delay, or one 5 s Redis command timeout per shutdown step), and far above the deadline, so a loaded
/// machine does not make them fail.
@Suite("Shutdown deadline against a real redis-server")
struct ShutdownDeadlineTests {
    /// SIGTERM to `process` while Redis is paused: how it ended and how long it took; Redis goes on afterwards.
    static func terminate(_ process: ChildProcess, redisPid: pid_t) async throws -> (ChildProcess.Termination, Duration) {
        let clock = ContinuousClock()
        let start = clock.now
        process.send(SIGTERM)
        let termination = try await process.waitForExit(timeout: .seconds(60))
        let elapsed = clock.now - start
        kill(redisPid, SIGCONT)
        return (termination, elapsed)
    }

    /// Another worker claims what was left pending and finishes the stream: one result per transaction.
    static func expectNextWorkerFinishes(_ harness: WorkerHarness, ids: [String]) async throws {
        var next = harness.configuration(consumer: "next")
        next.claimIdleMilliseconds = 100
        _ = try await harness.runWorker(next, timeout: .seconds(120)) { try await harness.length("fraud:results") >= ids.count }
        let results = try await harness.entries("fraud:results")
        #expect(results.count == ids.count)
        #expect(Set(results.compactMap { $0["source_id"] }) == Set(ids))
    }

    @Test func aSlowStageIsCancelledAtTheDeadlineAndItsEntriesStayPendingForTheNextWorker() async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<200).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration(consumer: "slow")
            configuration.batchSize = 20
            configuration.shutdownTimeoutMilliseconds = 1_000
            let worker = Worker(configuration: configuration, redis: harness.server.configuration, logger: WorkerHarness.quietLogger)
            // Every batch's scoring takes 60 s: only the deadline can end this shutdown early.
            let assembly = try await worker.assemble(signals: [], stageDelay: .seconds(60))
            let run = Task { try await assembly.run() }
            try await waitUntil("the worker to read entries") { await assembly.consumer.entriesRead > 0 }
            let clock = ContinuousClock()
            let start = clock.now
            await assembly.group.triggerGracefulShutdown()
            let outcome = await run.result
            let elapsed = clock.now - start
            guard case .failure(let error as FraudError) = outcome else {
                Issue.record("expected stoppedWithPending, got \(outcome)")
                return
            }
            #expect(error.code == .stoppedWithPending)
            #expect(elapsed < .seconds(30), "shutdown took \(elapsed) against a 1 s deadline and a 60 s stage")
            // What it read and did not write stays pending; the lease was released, so the name is free at once.
            #expect(try await harness.pendingCount() > 0)
            #expect(try await harness.redis.send(RedisCommand("EXISTS", ConsumerLeaseTests.leaseKey("slow"))).int == 0)
            // The next worker claims the pending entries and finishes the stream: each transaction exactly once.
            try await Self.expectNextWorkerFinishes(harness, ids: ids)
        }
    }

    @Test func workerProcessExitsWithinItsDeadlineWhenRedisIsFrozen() async throws {
        try await WorkerHarness.with { harness in
            let ids = try await harness.publish((0..<WorkerSignalTests.backlog).map { WorkerHarness.fields($0) })
            let pid = try #require(harness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            try await ChildProcess.run(
                WorkerSignalTests.workerArguments(harness, ["--consumer-name", "frozen"], shutdownTimeoutMilliseconds: 1_000)
            ) { worker in
                try await harness.waitForLength("fraud:results", atLeast: 200)
                kill(pid, SIGSTOP)
                let (termination, elapsed) = try await Self.terminate(worker, redisPid: pid)
                #expect(termination == .exited(FraudError.Code.stoppedWithPending.exitCode), "stderr: \(worker.standardError)")
                // One step used to wait out a 5 s Redis command timeout after the drain, each in turn.
                #expect(elapsed < .milliseconds(9_000), "shutdown took \(elapsed) against a 1 s deadline (several 5 s command timeouts in turn before)")
                #expect(!worker.standardError.contains("Fatal error"))
                #expect(worker.standardError.split(separator: "\n").contains { $0.hasPrefix("fraudstream: ") }, "stderr: \(worker.standardError)")
            }
            // Nothing was lost or doubled: another worker finishes the stream, each transaction exactly once.
            try await Self.expectNextWorkerFinishes(harness, ids: ids)
        }
    }

    @Test func scoringServerExitsWithinItsDeadlineWhenRedisIsFrozen() async throws {
        try await WorkerHarness.with { harness in
            let pid = try #require(harness.server.processIdentifier)
            defer { kill(pid, SIGCONT) }
            let key = try await APIKeyStore(namespace: "fraud").create(name: "t", scopes: [.score], actor: "cli:test", on: harness.redis).secret
            try await ChildProcess.run([
                "serve", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--port", "0", "--shutdown-timeout-ms", "1000",
                "--log-level", "warning",
            ]) { server in
                try await waitUntil("the server to listen", timeout: .seconds(60)) { server.standardOutput.contains("listening on") }
                let port = try #require(server.standardOutput.firstMatch(of: #/listening on http://[^:]+:(\d+)/#).flatMap { Int($0.1) })
                let client = try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Authorization", "Bearer \(key)")])
                for index in 0..<20 {
                    let reply = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("frozen-\(index)", user: index))
                    #expect(reply.status == 200)
                }
                kill(pid, SIGSTOP)
                // Answered while Redis is away: the recorder has decisions it cannot write when the shutdown begins.
                for index in 20..<25 {
                    _ = try? await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("frozen-\(index)", user: index))
                }
                let (termination, elapsed) = try await Self.terminate(server, redisPid: pid)
                #expect(
                    termination == .exited(0) || termination == .exited(FraudError.Code.stoppedWithPending.exitCode),
                    "stderr: \(server.standardError)")
                #expect(elapsed < .milliseconds(9_000), "shutdown took \(elapsed) against a 1 s deadline (several 5 s command timeouts in turn before)")
                #expect(!server.standardError.contains("Fatal error"))
            }
        }
    }
}
