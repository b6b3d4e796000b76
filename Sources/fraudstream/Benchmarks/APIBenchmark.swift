import FraudCore
import FraudServer
import Foundation
import RedisClient

/// The same decision on the two paths, in one run on one Redis: the stream worker drains a backlog, then a
/// `fraudstream serve` child answers `POST /v1/score` open-loop; the CPU of each process and of Redis per decision
/// and their ratios. Then the server's capacity with 16 connections (wrk when installed, else this process's own
/// closed-loop client) and the open-loop latency at 40% of it.
struct APIBenchmark {
    var drain: DrainBenchmark
    /// Requests per open-loop measurement at ``rate``.
    var requests: Int
    /// Open-loop requests per second.
    var rate: Double
    /// Seconds of the capacity measurement.
    var capacitySeconds = 10

    /// One pair of measurements: the drain and the API at ``rate``.
    struct Pair {
        var workerMicroseconds: Double
        var workerRedisMicroseconds: Double
        var serveMicroseconds: Double
        var serveRedisMicroseconds: Double
        var degraded: Int
        var statuses: [Int: Int]
        var p50: Double
        var p99: Double
        var recorded: Int
    }

    /// A running `fraudstream serve` child.
    struct ServeProcess {
        let process: Process
        let port: Int

        /// User + system CPU time of the process (all threads) in µs, from `/proc/<pid>/stat`.
        var cpuMicroseconds: Double { CPUMeter.processMicroseconds(process.processIdentifier) }

        /// Starts `fraudstream serve` on a free port against `redisURL` and waits until it listens.
        static func start(redisURL: String, namespace: String, journal: String, authOff: Bool = false) async throws -> ServeProcess {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = [
                "serve", "--redis-url", redisURL, "--namespace", namespace, "--port", "0", "--log-level", "warning",
                "--decision-journal", journal,
            ] + (authOff ? ["--auth", "off"] : [])
            var environment = ProcessInfo.processInfo.environment
            environment[WorkerProcesses.parentVariable] = String(getpid())
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            // Blocking reads, on a thread of their own (never the cooperative pool), until the one line serve prints.
            let port = await onOwnThread { () -> Int? in
                var text = ""
                while true {
                    let data = output.fileHandleForReading.availableData
                    if data.isEmpty { return nil }
                    text += String(decoding: data, as: UTF8.self)
                    if let match = text.firstMatch(of: #/listening on https?://[^:]+:(\d+)/#) { return Int(match.1) }
                }
            }
            guard let port else {
                throw FraudError(.failedCheck, "fraudstream serve exited before listening (status \(process.terminationStatus))")
            }
            return ServeProcess(process: process, port: port)
        }

        /// SIGTERM, then waits for the exit.
        func stop() async {
            WorkerProcesses.signal([process], SIGTERM)
            await WorkerProcesses.waitForExit([process], timeout: .seconds(30))
            WorkerProcesses.signal([process], SIGKILL)
        }
    }

    /// Runs `repeats` pairs (each from the same freshly prepared state), then the capacity and the latency at
    /// 40% of it, and adds medians and ratios to `table`.
    func run(into table: inout BenchTable, repeats: Int, redisURL: String) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        var pairs: [Pair] = []
        let redis = try await RedisConnection.connect(drain.configuration, name: "bench-api")
        var world = WorldConfiguration()
        world.users = drain.users
        world.days = 7
        world.seed = 11
        let users = WorldGenerator.generate(world)
        let journal = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-bench-journal-\(getpid()).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: journal) }
        var capacity = 0.0
        var apiKey = ""
        var lowLoad: HTTPLoadTest.Report?
        var capacityTool = ""
        // The same open loop against a server with `--auth off`, in every round (before the keyed one in odd rounds,
        // after it in even ones): what API keys cost.
        var withoutKeys: [(p50: Double, cpu: Double)] = []
        func withoutKeysRun(_ round: Int) async throws {
            let open = try await ServeProcess.start(redisURL: redisURL, namespace: drain.namespace, journal: journal, authOff: true)
            do {
                let run = try await openLoop(open, redis: redis, world: users, runId: "bench-open-\(round)", rate: rate, count: requests, apiKey: "")
                withoutKeys.append((run.report.latency.percentile(50), run.serveMicroseconds))
            } catch {
                await open.stop()
                throw error
            }
            await open.stop()
        }
        for round in 0..<max(1, repeats) {
            let sample = try await drain.sample(model: &model, table: &scratch)
            if round % 2 == 1 { try await withoutKeysRun(round) }
            // Measured as deployed: with API-key authentication (the sample reset the namespace, keys included).
            apiKey = try await APIKeyStore(namespace: drain.namespace).create(
                name: "bench", scopes: [.score, .read], actor: AuditLog.commandLineActor, on: redis).secret
            let serve = try await ServeProcess.start(redisURL: redisURL, namespace: drain.namespace, journal: journal)
            do {
                let (report, serveMicroseconds, redisMicroseconds, recorded) = try await openLoop(
                    serve, redis: redis, world: users, runId: "bench-api-\(round)", rate: rate, count: requests, apiKey: apiKey)
                pairs.append(Pair(
                    workerMicroseconds: sample.workerMicroseconds, workerRedisMicroseconds: sample.redisMicroseconds,
                    serveMicroseconds: serveMicroseconds, serveRedisMicroseconds: redisMicroseconds, degraded: report.degraded,
                    statuses: report.statuses, p50: report.latency.percentile(50), p99: report.latency.percentile(99), recorded: recorded))
                if round == repeats - 1 {
                    (capacity, capacityTool) = try await measureCapacity(serve, world: users, runId: "bench-cap-\(round)", apiKey: apiKey)
                    let fortyPercent = max(100, capacity * 0.4)
                    lowLoad = try await openLoop(
                        serve, redis: redis, world: users, runId: "bench-40-\(round)", rate: fortyPercent,
                        count: Int(fortyPercent * 10), apiKey: apiKey).report
                }
                await serve.stop()
            } catch {
                await serve.stop()
                throw error
            }
            if round % 2 == 0 { try await withoutKeysRun(round) }
        }
        await redis.close()
        add(pairs, capacity: capacity, tool: capacityTool, lowLoad: lowLoad, to: &table)
        let keyedP50 = median(pairs.map(\.p50))
        let openP50 = median(withoutKeys.map(\.p50))
        table.add(
            "  p50 with API keys / with --auth off", String(format: "%.2f / %.2f", keyedP50 / 1000, openP50 / 1000), "ms",
            String(format: "%.2f×, medians of %d runs each, interleaved; target <= 1.10", keyedP50 / max(openP50, 0.001), withoutKeys.count))
        table.add(
            "  serve CPU with --auth off", String(format: "%.1f", median(withoutKeys.map(\.cpu))), "µs CPU/req",
            String(format: "with keys %.1f", median(pairs.map(\.serveMicroseconds))))
    }

    /// Open-loop `POST /v1/score` at `rate` for `count` requests; the server's and Redis's CPU per request, counted
    /// until every decision is recorded.
    func openLoop(
        _ serve: ServeProcess, redis: RedisConnection, world: SyntheticWorld, runId: String, rate: Double, count: Int, apiKey: String
    ) async throws -> (report: HTTPLoadTest.Report, serveMicroseconds: Double, redisMicroseconds: Double, recorded: Int) {
        var options = HTTPLoadTest.Options(
            host: "127.0.0.1", port: serve.port, runId: runId, plan: RatePlan(pattern: .constant, targetPerSecond: rate, durationSeconds: nil, count: count, seed: 3))
        options.connections = 64
        options.apiKey = apiKey.isEmpty ? nil : apiKey
        let results = StreamNames(namespace: drain.namespace).partitions[0].results
        let before = try await redis.send(RedisCommand("XLEN", results)).int ?? 0
        let redisBefore = try await CPUMeter.read(redis).redisMicroseconds
        let serveBefore = serve.cpuMicroseconds
        let report = try await HTTPLoadTest(options: options, world: world).run()
        // The decision is not paid for until it is recorded.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(60)
        var recorded = 0
        while clock.now < deadline {
            recorded = (try await redis.send(RedisCommand("XLEN", results)).int ?? 0) - before
            if recorded >= report.statuses[200, default: 0] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let served = Double(max(1, report.sent))
        let redisAfter = try await CPUMeter.read(redis).redisMicroseconds
        return (report, (serve.cpuMicroseconds - serveBefore) / served, (redisAfter - redisBefore) / served, recorded)
    }

    /// Requests per second the server answers with 16 connections, each with one request in flight: `wrk -c16`
    /// when it is installed, else this process's client at a rate no server reaches.
    func measureCapacity(_ serve: ServeProcess, world: SyntheticWorld, runId: String, apiKey: String) async throws -> (Double, String) {
        if let wrk = Self.which("wrk") {
            let script = try WrkScript.write(world: world, runId: runId, apiKey: apiKey)
            defer { try? FileManager.default.removeItem(atPath: script) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: wrk)
            process.arguments = ["-t2", "-c16", "-d\(capacitySeconds)s", "-s", script, "http://127.0.0.1:\(serve.port)/v1/score"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let data = await onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
            await WorkerProcesses.waitForExit([process])
            let text = String(decoding: data, as: UTF8.self)
            if let match = text.firstMatch(of: #/Requests/sec:\s+([0-9.]+)/#), let rate = Double(match.1) {
                let non2xx = text.firstMatch(of: #/Non-2xx or 3xx responses: (\d+)/#).map { " (\($0.1) non-2xx)" } ?? ""
                return (rate, "wrk -t2 -c16 -d\(capacitySeconds)s" + non2xx)
            }
            throw FraudError(.failedCheck, "could not read wrk's output: \(text.prefix(300))")
        }
        var options = HTTPLoadTest.Options(
            host: "127.0.0.1", port: serve.port, runId: runId, plan: RatePlan(pattern: .constant, targetPerSecond: 1_000_000, durationSeconds: nil, count: 20_000, seed: 3))
        options.connections = 16
        options.apiKey = apiKey
        let report = try await HTTPLoadTest(options: options, world: world).run()
        return (report.achievedPerSecond, "this process's client, 16 connections closed loop (wrk not installed)")
    }

    static func which(_ name: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func add(_ pairs: [Pair], capacity: Double, tool: String, lowLoad: HTTPLoadTest.Report?, to table: inout BenchTable) {
        func middle(_ value: (Pair) -> Double) -> Double { median(pairs.map(value)) }
        let oneDecimal: (Double) -> String = { String(format: "%.1f", $0) }
        let n = "median of \(pairs.count) pairs"
        table.add("worker: drain of \(drain.transactions)", oneDecimal(middle(\.workerMicroseconds)), "µs CPU/tx", "getrusage; \(n)")
        table.add("  Redis CPU per worker decision", oneDecimal(middle(\.workerRedisMicroseconds)), "µs", "INFO cpu")
        table.add(
            "serve: \(requests) POST /v1/score at \(grouped(rate))/s", oneDecimal(middle(\.serveMicroseconds)), "µs CPU/req",
            "/proc/<pid>/stat of the serve process, until recorded; \(n)")
        table.add("  Redis CPU per API decision", oneDecimal(middle(\.serveRedisMicroseconds)), "µs", "INFO cpu")
        table.add(
            "  serve / worker CPU per decision", String(format: "%.2f", middle { $0.serveMicroseconds / max($0.workerMicroseconds, 0.001) }), "×",
            "target <= 1.5")
        table.add(
            "  Redis per API / per worker decision",
            String(format: "%.2f", middle { $0.serveRedisMicroseconds / max($0.workerRedisMicroseconds, 0.001) }), "×", "target <= 1.2")
        let last = pairs[pairs.count - 1]
        table.add(
            "  degraded answers at \(grouped(rate))/s", "\(pairs.map(\.degraded).max() ?? 0)", "answers",
            "most in one run; target 0; statuses \(last.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")); \(last.recorded) recorded")
        table.add("  p50 / p99 at \(grouped(rate))/s", String(format: "%.2f / %.2f", middle(\.p50) / 1000, middle(\.p99) / 1000), "ms", "scheduled send to answer")
        table.add("serve capacity, 16 connections", grouped(capacity), "req/s", tool)
        if let lowLoad {
            table.add(
                "  p50 / p99 at 40% of capacity (\(grouped(capacity * 0.4))/s)",
                String(format: "%.2f / %.2f", lowLoad.latency.percentile(50) / 1000, lowLoad.latency.percentile(99) / 1000), "ms",
                "open loop, \(lowLoad.sent) requests, \(lowLoad.degraded) degraded; target p50 <= 0.7, p99 <= 2")
        }
    }
}

/// The Lua script wrk sends with: real users' transactions, each request a new transaction id.
enum WrkScript {
    static func write(world: SyntheticWorld, runId: String, apiKey: String) throws -> String {
        var synthesizer = TrafficSynthesizer(world: world, seed: 9, fraudRatio: 0.02, runId: runId)
        let encoder = JSONEncoder()
        var bodies: [String] = []
        let base = Int64(Date().timeIntervalSince1970 * 1000)
        for index in 0..<2_000 {
            var transaction = synthesizer.next(timestampMilliseconds: base + Int64(index))
            transaction.transactionId = "__ID__"
            transaction.scenario = nil
            let json = String(decoding: try encoder.encode(transaction), as: UTF8.self)
            bodies.append("[[" + json + "]]")
        }
        let script = """
            local bodies = {\(bodies.joined(separator: ",\n"))}
            local counter = 0
            local prefix = "\(runId)"
            function setup(thread) thread:set("tid", tostring(math.random(1, 1000000000))) end
            wrk.method = "POST"
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Authorization"] = "Bearer \(apiKey)"
            function request()
              counter = counter + 1
              local body = bodies[(counter % #bodies) + 1]:gsub("__ID__", prefix .. "-" .. tid .. "-" .. counter)
              return wrk.format(nil, nil, nil, body)
            end
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-wrk-\(getpid()).lua").path
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Runs blocking work (a child's pipe read to its end) on a thread of its own, never on the cooperative pool.
func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
