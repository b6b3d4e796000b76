import FraudArchive
import FraudCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import RedisHarness

/// `bench --suite archive`: the same drain with the results' default content, with the full evidence the archive
/// keeps (`RESULT_EVIDENCE=full`), and with the full evidence and `fraudstream archive run` following the results into a
/// private PostgreSQL (a child process, so the worker's CPU is its own), interleaved; and the archive's own
/// throughput, rows per second from its first row to its last, with the archiver's and PostgreSQL's CPU per row.
struct ArchiveBenchmark {
    let drain: DrainBenchmark
    let redisURL: String

    func run(into table: inout BenchTable, repeats: Int) async throws {
        let postgres = try await PostgresServer.start()
        var logger = Logger(label: "bench.archive")
        logger.logLevel = .error
        do {
            var measured = table
            try await ArchiveStore.withOpen(try PostgresSettings.parse(postgres.url), logger: logger) { store in
                try await measure(postgres, store, logger: logger, into: &measured, repeats: repeats)
            }
            table = measured
            await postgres.stop()
        } catch {
            await postgres.stop()
            throw error
        }
    }

    private func measure(
        _ postgres: PostgresServer, _ store: ArchiveStore, logger: Logger, into table: inout BenchTable, repeats: Int
    ) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        var plain: [DrainBenchmark.Sample] = []
        var without: [DrainBenchmark.Sample] = []
        var with: [DrainBenchmark.Sample] = []
        var rowsPerSecond: [Double] = []
        var archiverPerRow: [Double] = []
        var postgresPerRow: [Double] = []
        var lagAtEnd: [Int] = []
        var evidenceDrain = drain
        evidenceDrain.worker.fullEvidence = true
        let drain = evidenceDrain
        var plainDrain = drain
        plainDrain.worker.fullEvidence = false
        for _ in 0..<max(1, repeats) {
            plain.append(try await plainDrain.sample(model: &model, table: &scratch))
            without.append(try await drain.sample(model: &model, table: &scratch))
            let redis = try await RedisConnection.connect(drain.configuration, name: "bench-archive")
            let results = "\(drain.namespace):results"
            // The archiver starts on an empty results stream and table: what the drain before wrote is not counted.
            _ = try await redis.send(RedisCommand("DEL", results, ArchiveHold.key(for: results)))
            try await store.connection.query("TRUNCATE decisions", logger: logger)
            var archiver = try startArchiver(postgres)
            let sample = try await drain.sample(model: &model, table: &scratch)
            with.append(sample)
            // The drain is done: how far behind the archive is; then it finishes.
            lagAtEnd.append(try await Archiver.lag(stream: results, group: "archive", on: redis) ?? sample.results)
            try await waitUntilArchived(sample.results, store, redis)
            await stop(archiver)
            // Its own throughput: the same results archived again from the start, alone on the machine.
            try await store.connection.query("TRUNCATE decisions", logger: logger)
            _ = try await redis.send(RedisCommand("XGROUP", "DESTROY", results, "archive"))
            _ = try await redis.send(RedisCommand("DEL", ArchiveHold.key(for: results)))
            let postgresBefore = postgres.processIdentifier.map(CPUMeter.processTreeMicroseconds) ?? 0
            let started = ContinuousClock.now
            archiver = try startArchiver(postgres)
            try await waitUntilArchived(sample.results, store, redis)
            rowsPerSecond.append(Double(sample.results) / max((ContinuousClock.now - started) / .seconds(1), 0.001))
            archiverPerRow.append(CPUMeter.processMicroseconds(archiver.processIdentifier) / Double(max(sample.results, 1)))
            let postgresAfter = postgres.processIdentifier.map(CPUMeter.processTreeMicroseconds) ?? 0
            postgresPerRow.append((postgresAfter - postgresBefore) / Double(max(sample.results, 1)))
            await stop(archiver)
        }
        let reviewsOnly = median(plain.map(\.drainPerSecond))
        let base = median(without.map(\.drainPerSecond))
        let archived = median(with.map(\.drainPerSecond))
        table.add("drain, evidence reviews (default), no archive", grouped(reviewsOnly), "tx/s", "median of \(plain.count)")
        table.add("  worker CPU per tx", String(format: "%.1f", median(plain.map(\.workerMicroseconds))), "µs", "getrusage")
        table.add("  Redis CPU per tx", String(format: "%.1f", median(plain.map(\.redisMicroseconds))), "µs", "INFO cpu")
        table.add(
            "drain, --evidence full, no archive", grouped(base), "tx/s",
            String(format: "%.1f%% of evidence reviews; median of %d", 100 * base / max(reviewsOnly, 1), without.count))
        table.add("  worker CPU per tx", String(format: "%.1f", median(without.map(\.workerMicroseconds))), "µs", "getrusage")
        table.add("  Redis CPU per tx", String(format: "%.1f", median(without.map(\.redisMicroseconds))), "µs", "INFO cpu")
        table.add(
            "drain, --evidence full, archive run beside it", grouped(archived), "tx/s",
            String(format: "%.1f%% of no archive (target ≥ 90%%); median of %d", 100 * archived / max(base, 1), with.count))
        table.add("  worker CPU per tx", String(format: "%.1f", median(with.map(\.workerMicroseconds))), "µs", "getrusage")
        table.add("  Redis CPU per tx", String(format: "%.1f", median(with.map(\.redisMicroseconds))), "µs", "INFO cpu, archiver's reads included")
        table.add(
            "  archive lag at the drain's end", grouped(Double(median(lagAtEnd.map(Double.init)))), "entries",
            "median; undelivered counted up to 10,000, plus pending")
        table.add(
            "archive into PostgreSQL", grouped(median(rowsPerSecond)), "rows/s",
            "the drain's results archived again alone (start to last row), batches of 1000; median of \(rowsPerSecond.count)")
        table.add("  archiver CPU per row", String(format: "%.1f", median(archiverPerRow)), "µs", "/proc/<pid>/stat")
        table.add("  PostgreSQL CPU per row", String(format: "%.1f", median(postgresPerRow)), "µs", "/proc/<pid>/stat of the postmaster and its backends")
    }

    private func startArchiver(_ postgres: PostgresServer) throws -> Process {
        let archiver = Process()
        archiver.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        archiver.arguments = [
            "archive", "run", "--postgres-url", postgres.url, "--redis-url", redisURL, "--namespace", drain.namespace, "--log-level", "error",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment[WorkerProcesses.parentVariable] = String(getpid())
        archiver.environment = environment
        try archiver.run()
        return archiver
    }

    /// SIGTERM, then waits for the exit on a thread of its own (never the cooperative pool).
    private func stop(_ archiver: Process) async {
        archiver.terminate()
        await onOwnThread { archiver.waitUntilExit() }
    }

    /// Waits until the archive group has acknowledged every entry (an entry is acknowledged after its row's commit),
    /// asking Redis every 20 ms with a lag counted up to one entry (a `count(*)` that often would be PostgreSQL CPU
    /// charged to the archive, a full lag count Redis CPU). Then checks the table holds `count` rows.
    private func waitUntilArchived(_ count: Int, _ store: ArchiveStore, _ redis: RedisConnection) async throws {
        let deadline = ContinuousClock.now + .seconds(600)
        let results = "\(drain.namespace):results"
        while try await GroupBacklog.measure(stream: results, group: "archive", on: redis, cap: 1).map({ $0.undelivered + $0.pending }) != 0 {
            guard ContinuousClock.now < deadline else { throw FraudError(.failedCheck, "the archive did not catch up within 600 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let archived = try await store.count()
        guard archived == count else { throw FraudError(.failedCheck, "the archive holds \(archived) rows, not \(count)") }
    }
}
