import FraudArchive
import FraudCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import RedisHarness

/// `bench --suite archive`: the same drain without and with `fraudstream archive run` following the results into a
/// private PostgreSQL (a child process, so the worker's CPU is its own), interleaved; and the archive's own
/// throughput, rows per second from its first row to its last.
struct ArchiveBenchmark {
    let drain: DrainBenchmark
    let redisURL: String

    func run(into table: inout BenchTable, repeats: Int) async throws {
        let postgres = try await PostgresServer.start()
        do {
            try await measure(postgres, into: &table, repeats: repeats)
            await postgres.stop()
        } catch {
            await postgres.stop()
            throw error
        }
    }

    private func measure(_ postgres: PostgresServer, into table: inout BenchTable, repeats: Int) async throws {
        var logger = Logger(label: "bench.archive")
        logger.logLevel = .error
        let store = try await ArchiveStore.open(try PostgresSettings.parse(postgres.url), logger: logger)
        defer { Task { await store.close() } }
        var model: ModelRecord?
        var scratch = BenchTable()
        var without: [DrainBenchmark.Sample] = []
        var with: [DrainBenchmark.Sample] = []
        var rowsPerSecond: [Double] = []
        var lagAtEnd: [Int] = []
        for _ in 0..<max(1, repeats) {
            without.append(try await drain.sample(model: &model, table: &scratch))
            try await store.connection.query("TRUNCATE decisions", logger: logger)
            let archiver = Process()
            archiver.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            archiver.arguments = [
                "archive", "run", "--postgres-url", postgres.url, "--redis-url", redisURL, "--namespace", drain.namespace, "--log-level", "error",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment[WorkerProcesses.parentVariable] = String(getpid())
            archiver.environment = environment
            try archiver.run()
            let sample = try await drain.sample(model: &model, table: &scratch)
            with.append(sample)
            // The drain is done; how far behind the archive is, then the time it takes to catch up.
            let redis = try await RedisConnection.connect(drain.configuration, name: "bench-archive")
            lagAtEnd.append(try await Archiver.lag(stream: "\(drain.namespace):results", group: "archive", on: redis) ?? sample.results)
            // Catching up alone (the drain had both cores), from here to the last row.
            let caughtUpFrom = ContinuousClock.now
            let archivedAtEnd = try await store.count()
            let deadline = ContinuousClock.now + .seconds(600)
            while try await store.count() < sample.results && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let seconds = (ContinuousClock.now - caughtUpFrom) / .seconds(1)
            rowsPerSecond.append(Double(sample.results - archivedAtEnd) / max(seconds, 0.001))
            archiver.terminate()
            archiver.waitUntilExit()
        }
        let base = median(without.map(\.drainPerSecond))
        let archived = median(with.map(\.drainPerSecond))
        table.add("drain, no archive", grouped(base), "tx/s", "median of \(without.count)")
        table.add("  worker CPU per tx", String(format: "%.1f", median(without.map(\.workerMicroseconds))), "µs", "getrusage")
        table.add("  Redis CPU per tx", String(format: "%.1f", median(without.map(\.redisMicroseconds))), "µs", "INFO cpu")
        table.add(
            "drain, archive run beside it", grouped(archived), "tx/s",
            String(format: "%.1f%% of no archive (target ≥ 90%%); median of %d", 100 * archived / max(base, 1), with.count))
        table.add("  worker CPU per tx", String(format: "%.1f", median(with.map(\.workerMicroseconds))), "µs", "getrusage")
        table.add("  Redis CPU per tx", String(format: "%.1f", median(with.map(\.redisMicroseconds))), "µs", "INFO cpu, archiver's reads included")
        table.add("  archive lag at the drain's end", grouped(Double(median(lagAtEnd.map(Double.init)))), "entries", "median")
        table.add(
            "archive into PostgreSQL", grouped(median(rowsPerSecond)), "rows/s",
            "catching up after the drain, batches of 1000, one transaction each; median of \(rowsPerSecond.count)")
    }
}
