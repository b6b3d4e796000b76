import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// The worker against a Redis that restarts, crashes, or goes away, with a real redis-server and a real worker.
@Suite("Worker liveness under Redis outages")
struct RedisOutageTests {
    static let count = 2_000
    /// AOF on and fsynced per write, so a crash loses nothing the test published; every key loads
    /// 150 µs slower, so the dummy keys below make a loading window of about 1.5 s after a restart.
    static let durableSlowLoading = ["--appendonly", "yes", "--appendfsync", "always", "--key-load-delay", "150"]

    /// Ten thousand keys to load, so a restarted server answers `-LOADING` for a while.
    static func addLoadingWeight(_ harness: WorkerHarness) async throws {
        for chunk in 0..<10 {
            _ = try await harness.redis.pipeline((0..<1_000).map { RedisCommand("SET", "weight:\(chunk):\($0)", "x") })
        }
    }

    /// Results so far, or 0 while the server is down or loading.
    static func resultsSoFar(_ harness: WorkerHarness) async -> Int {
        (try? await harness.length("fraud:results")) ?? 0
    }

    static func expectExactlyOneResultEach(_ harness: WorkerHarness, ids: [String]) async throws {
        let sources = try await harness.entries("fraud:results").compactMap { $0["source_id"] }
        #expect(sources.count == ids.count)
        #expect(Set(sources) == Set(ids))
        #expect(try await harness.pendingCount() == 0)
    }

    enum Outage: String, CaseIterable, Sendable {
        /// `SHUTDOWN` (AOF flushed), then a restart that spends a while loading.
        case restartWithLoadingWindow
        /// `kill -9`, then a restart from the AOF, also with a loading window.
        case crashAndRestartFromAOF
    }

    @Test(arguments: Outage.allCases)
    func workerResumesByItselfAfterRedisComesBack(_ outage: Outage) async throws {
        try await WorkerHarness.with(redisArguments: Self.durableSlowLoading) { harness in
            try await Self.addLoadingWeight(harness)
            let ids = try await harness.publish((0..<Self.count).map { WorkerHarness.fields($0) })
            var configuration = harness.configuration()
            configuration.batchSize = 20
            let sawLoading = SampleBox()
            _ = try await harness.runWorker(
                configuration, stageDelay: .milliseconds(2), timeout: .seconds(60),
                while: { _ in
                    try await harness.waitForLength("fraud:results", atLeast: 200)
                    switch outage {
                    case .restartWithLoadingWindow: await harness.server.stop(keepDirectory: true)
                    case .crashAndRestartFromAOF: await harness.server.kill()
                    }
                    #expect(await Self.resultsSoFar(harness) < Self.count)  // stopped mid-drain
                    try await harness.server.restart()
                    let probe = try await RedisConnection.connect(harness.server.configuration)
                    let persistence = try await probe.send(RedisCommand("INFO", "persistence")).string ?? ""
                    await sawLoading.add(persistence.contains("loading:1") ? 1 : 0)
                },
                until: { await Self.resultsSoFar(harness) >= Self.count })
            #expect(await sawLoading.values == [1], "the restarted server was not loading; the test did not exercise -LOADING")
            try await Self.expectExactlyOneResultEach(harness, ids: ids)
        }
    }

    @Test func sigtermWhileRedisIsDownExitsWithinTheTimeoutAndAnotherWorkerFinishes() async throws {
        try await WorkerHarness.with(redisArguments: ["--appendonly", "yes", "--appendfsync", "always"]) { harness in
            // A backlog far longer than what is written before Redis goes down, however fast the worker is.
            let count = 20_000
            let ids = try await harness.publish((0..<count).map { WorkerHarness.fields($0) })
            let arguments = [
                "worker", "--redis-url", "redis://127.0.0.1:\(harness.server.port)", "--batch-size", "20", "--block-ms", "100",
                "--consumer-name", "first", "--log-level", "warning",
            ]
            try await ChildProcess.run(arguments) { worker in
                try await harness.waitForLength("fraud:results", atLeast: 100)
                await harness.server.kill()
                try await Task.sleep(for: .milliseconds(300))
                let clock = ContinuousClock()
                let signalled = clock.now
                worker.send(SIGTERM)
                let termination = try await worker.waitForExit(timeout: .seconds(20))
                let took = clock.now - signalled
                #expect(took < .seconds(15), "exit took \(took) with the default --shutdown-timeout-ms 5000")
                #expect(termination == .exited(75), "stderr: \(worker.standardError)")
                let lines = worker.standardError.split(separator: "\n").filter { $0.hasPrefix("fraudstream:") }
                #expect(lines.count == 1)
                #expect(lines.first?.contains("entries read but not acknowledged") == true, "stderr: \(worker.standardError)")
                #expect(!worker.standardError.contains("CancellationError"))
            }
            try await harness.server.restart()
            try await waitUntil("the restarted server to finish loading") {
                (try? await harness.redis.send(RedisCommand("XLEN", "fraud:transactions")).int) == count
            }
            #expect(try await harness.pendingCount() > 0)  // the first worker left its in-flight entries pending
            // The crash has been survived; an fsync per write would only make the rest of the drain slow on a busy disk.
            try await harness.redis.send(RedisCommand("CONFIG", "SET", "appendfsync", "everysec"))
            var second = harness.configuration(consumer: "second")
            second.claimIdleMilliseconds = 200
            _ = try await harness.runWorker(second, timeout: .seconds(240)) { await Self.resultsSoFar(harness) >= count }
            try await Self.expectExactlyOneResultEach(harness, ids: ids)
        }
    }

    @Test func stageThatFailsForGoodStopsTheWorkerWithItsReason() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish((0..<200).map { WorkerHarness.fields($0) })
            try await harness.redis.send(RedisCommand("SET", "fraud:results", "not a stream"))  // every write now fails
            let worker = Worker(configuration: harness.configuration(), redis: harness.server.configuration, logger: WorkerHarness.quietLogger)
            let assembly = try await worker.assemble(signals: [])
            let run = Task { try await assembly.run() }
            let deadlineReached = SampleBox()
            let deadline = Task {
                // Generous: a busy machine only delays the stop; it never makes the worker run on.
                try await Task.sleep(for: .seconds(90))
                await deadlineReached.add(1)
                run.cancel()
            }
            defer { deadline.cancel() }
            do {
                try await run.value
                Issue.record("the worker ran on although every write failed")
            } catch let error as FraudError {
                #expect(error.code == .stoppedWithPending)
                #expect(error.message.contains("writing results failed"), "\(error.message)")
                #expect(error.message.contains("WRONGTYPE"), "\(error.message)")
            }
            #expect(await deadlineReached.values.isEmpty)  // it stopped by itself, not at the test's deadline
            #expect(try await harness.pendingCount() > 0)  // nothing acknowledged unwritten
        }
    }
}
