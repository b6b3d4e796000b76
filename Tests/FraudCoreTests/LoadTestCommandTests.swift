import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream load-test against a real redis-server")
struct LoadTestCommandTests {
    @Test func loadTestFailsWhenNoWorkerProcessesTheRun() async throws {
        try await WorkerHarness.with { harness in
            let outcome = try await FraudStreamBinary.run([
                "load-test", "--workers", "0", "--count", "30", "--tps", "1000", "--drain-timeout", "1", "--users", "50",
                "--redis-url", "redis://127.0.0.1:\(harness.server.port)",
            ])
            #expect(outcome.status != 0)
            #expect(outcome.standardError.contains("30 transactions of run"))
            #expect(outcome.standardError.contains("left unprocessed"))
            #expect(try await harness.length("fraud:transactions") == 30)
        }
    }

    @Test func loadTestDrainsEveryGeneratedTransactionStopsItsWorkersAndExitsZero() async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            // A small world and model: seconds, not the default's 40.
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "50", "--days", "2", "--trees", "5", "--redis-url", url])
            try #require(prepare.status == 0, "prepare failed: \(prepare.standardError)")
            let outcome = try await FraudStreamBinary.run([
                "load-test", "--users", "50", "--tps", "200", "--duration", "2", "--batch-size", "16", "--run-id", "run-load",
                "--redis-url", url,
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            #expect(outcome.standardOutput.contains("workers     1 ready"))
            #expect(outcome.standardOutput.contains("generated   400 transactions"))
            #expect(outcome.standardOutput.contains("drained     400 of 400 transactions have a result or a dead letter"))
            #expect(outcome.standardOutput.contains("run         run-load"))
            let redis = try await RedisConnection.connect(server.configuration)
            let counters = try await RunStatistics.counters(run: "run-load", namespace: "fraud", on: redis)
            #expect((counters["processed"] ?? 0) + (counters["dead_letters"] ?? 0) == 400)
            #expect(try await redis.send(RedisCommand("XPENDING", "fraud:transactions", "inference_workers")).array?.first?.int == 0)
            // Its workers were stopped gracefully: they disconnected and left the group.
            try await waitUntil("the load test's workers to disconnect", timeout: .seconds(60)) {
                !(try await redis.send(RedisCommand("CLIENT", "LIST")).string ?? "").contains("name=fraudstream-loadtest-")
            }
            let consumers = try await redis.send(RedisCommand("XINFO", "CONSUMERS", "fraud:transactions", "inference_workers"))
            #expect((consumers.array ?? []).isEmpty)
        }
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func interruptedLoadTestStopsItsWorkersAndSaysSo(_ signal: Int32) async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "50", "--days", "2", "--trees", "5", "--redis-url", url])
            try #require(prepare.status == 0, "prepare failed: \(prepare.standardError)")
            try await ChildProcess.run([
                "load-test", "--workers", "2", "--users", "50", "--tps", "100", "--duration", "600", "--redis-url", url,
            ]) { loadTest in
                try await waitUntil("the load test's workers to be ready", timeout: .seconds(120)) {
                    loadTest.standardOutput.contains("workers     2 ready")
                }
                let workers = ChildProcess.children(of: loadTest.pid)
                #expect(workers.count == 2)
                loadTest.send(signal)  // to load-test alone, as a terminal's Ctrl-C reaches it
                let termination = try await loadTest.waitForExit(timeout: .seconds(90))
                #expect(termination == .exited(128 + signal), "stderr: \(loadTest.standardError)")
                let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
                #expect(loadTest.standardError.contains("load-test interrupted by \(name); stopping its 2 worker process(es)"), "\(loadTest.standardError)")
                #expect(loadTest.standardError.contains("worker processes stopped"), "\(loadTest.standardError)")
                for worker in workers { #expect(!ChildProcess.isAlive(worker), "worker process \(worker) still runs") }
            }
        }
    }

    @Test func jsonLoadTestWritesOnlyJSONToStandardOutput() async throws {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "50", "--days", "2", "--trees", "5", "--redis-url", url])
            try #require(prepare.status == 0, "prepare failed: \(prepare.standardError)")
            let outcome = try await FraudStreamBinary.run([
                "load-test", "--users", "50", "--count", "100", "--tps", "200", "--run-id", "run-json", "--json", "--redis-url", url,
            ])
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
            let object = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any]
            #expect(object?["run_id"] as? String == "run-json", "stdout: \(outcome.standardOutput)")
            #expect(outcome.standardError.contains("drained     100 of 100"))  // the human lines went to stderr
        }
    }
}
