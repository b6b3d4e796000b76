import ArgumentParser
import FraudCore
import FraudServer
import Foundation
import RedisClient

/// `fraudstream load-test`: workers + generator + drain + statistics, in one command.
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-test",
        abstract: "Start workers, generate traffic, wait until the group has drained, print the run's statistics, stop the workers.",
        discussion: """
            Exits 1 when any generated transaction is left without a result or dead letter (for example when no worker runs).

            With --http URL it drives a running `fraudstream serve` instead (no workers): POST /v1/score open-loop on             --connections keep-alive connections, each transaction due at the pattern's time and its latency measured             from that scheduled time (queueing for a connection included), then the latency percentiles, the answers             by status and the run's statistics as the server recorded them.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var traffic: TrafficOptions

    @Option(help: "Worker processes to start (0: rely on workers already running).")
    var workers: Int = 1
    @Option(help: "Worker --batch-size.") var batchSize: Int?
    @Option(help: "Worker --linger-ms.") var lingerMs: Int?
    @Option(help: "Worker --fetchers.") var fetchers: Int?
    @Option(help: "Worker --writers.") var writers: Int?
    @Option(help: "Worker --max-in-flight.") var maxInFlight: Int?
    @Option(help: "Seconds to wait for the workers to become ready.") var readyTimeout: Double = 30
    @Option(help: "Seconds to wait, after generating, for everything to be processed.") var drainTimeout: Double = 60
    @Option(help: "Drive the scoring API at this URL (http://host:port) instead of the stream and workers.")
    var http: String?
    @Option(help: "With --http: keep-alive connections, one request in flight each.") var connections: Int = 32
    @Option(help: "With --http: the API key sent as Authorization: Bearer (a score key; env FRAUDSTREAM_API_KEY; none for a server run with --auth off).")
    var apiKey: String?
    @Flag(help: "Print the statistics as JSON on standard output (and nothing else there; progress goes to standard error).") var json = false

    func validate() throws {
        guard workers >= 0 && workers <= 32 else { throw ValidationError("--workers must be between 0 and 32") }
        guard (1...4_096).contains(connections) else { throw ValidationError("--connections must be between 1 and 4096") }
        if let http, HTTPTarget(http) == nil { throw ValidationError("--http must look like http://host:port, not '\(http)'") }
    }

    func run() async throws {
        // With --json, standard output carries the JSON alone; the human lines go to standard error.
        let toStandardError = json
        let say: @Sendable (String) -> Void = { line in
            if toStandardError { printLineToStandardError(line) } else { printLine(line) }
        }
        let settings = SettingsResolver.command(connection.flags, namespace.flags, traffic.flags)
        // Ctrl-C or SIGTERM stops the workers this command started, and says so.
        let interruption = InterruptionGuard(command: "load-test")
        let redis = try await RedisConnection.connect(try connection.configuration(settings, name: "fraudstream-load-test"))
        // Named as the worker names them on this Redis (a cluster's streams carry their partition tag).
        let streams = await settings.streams(on: redis)
        let ns = streams.namespace
        if let http, let target = HTTPTarget(http) {
            try await runHTTP(target, redis: redis, streams: streams, say: say)
            return
        }
        let stream = streams.transactions
        let group = streams.consumerGroup
        let base = "loadtest-\(getpid())"
        var processes: [Process] = []
        defer { WorkerProcesses.signal(processes, SIGTERM) }
        for index in 1...max(workers, 1) where workers > 0 {
            let process = try startWorker(name: "\(base)-\(index)", namespace: ns)
            interruption.add(process)
            processes.append(process)
        }
        if workers > 0 {
            try await waitUntilReady(names: (1...workers).map { "\(base)-\($0)" }, processes: processes, stream: stream, group: group, redis: redis)
            say("workers     \(workers) ready (\(base)-1…\(workers))")
        }

        var traffic = self.traffic
        let run = traffic.runId ?? TrafficGenerator.makeRunId()
        traffic.runId = run
        let report = try await traffic.generate(connection: connection, settings: settings, printProgress: true, say: say)
        // The statistics of every partition the run recorded (with --append-run it may span more than these settings).
        let resultsStreamNames = try await RunStreams.resolve(run: run, settings: settings, redis: redis, note: say).partitions.map(\.results)

        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(drainTimeout * 1000))
        var done = 0
        while clock.now < deadline {
            let counters = try await RunStatistics.counters(run: run, namespace: ns, resultsStreams: resultsStreamNames, on: redis)
            done = (counters["processed"] ?? 0) + (counters["dead_letters"] ?? 0)
            if done >= report.sent { break }
            // Counters are written in the call that acknowledges, so once the group has nothing undelivered
            // and nothing pending (from stream ids: XINFO's lag is wrong after an AOF reload) nothing more
            // will come. A cap of 1 answers "anything left?" without reading the backlog.
            var drained = true
            for partition in streams.partitions {
                let backlog = try? await GroupBacklog.measure(stream: partition.transactions, group: group, on: redis, cap: 1)
                if backlog?.isDrained != true { drained = false }
            }
            if drained {
                let counters = try await RunStatistics.counters(run: run, namespace: ns, resultsStreams: resultsStreamNames, on: redis)
                done = (counters["processed"] ?? 0) + (counters["dead_letters"] ?? 0)
                break
            }
            if workers > 0 && processes.allSatisfy({ !$0.isRunning }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        var backlogs: [String] = []
        for partition in streams.partitions {
            let backlog = try? await GroupBacklog.measure(stream: partition.transactions, group: group, on: redis)
            backlogs.append((streams.partitionCount > 1 ? "p\(partition.partitionIndex) " : "") + (backlog.map(\.description) ?? "no group"))
        }
        say("drained     \(done) of \(report.sent) transactions have a result or a dead letter; group \(group): \(backlogs.joined(separator: "; "))")
        try await printStatistics(run: run, namespace: ns, resultsStreams: resultsStreamNames, redis: redis)

        WorkerProcesses.signal(processes, SIGTERM)
        await WorkerProcesses.waitForExit(processes, timeout: .seconds(10))
        if done < report.sent {
            throw FraudError(.failedCheck, "\(report.sent - done) transactions of run \(run) left unprocessed")
        }
    }

    private func startWorker(name: String, namespace: String) throws -> Process {
        var arguments = ["worker", "--consumer-name", name, "--namespace", namespace, "--log-level", "warning"]
        if let url = connection.redisURL { arguments += ["--redis-url", url] }
        if let batchSize { arguments += ["--batch-size", String(batchSize)] }
        if let lingerMs { arguments += ["--linger-ms", String(lingerMs)] }
        if let fetchers { arguments += ["--fetchers", String(fetchers)] }
        if let writers { arguments += ["--writers", String(writers)] }
        if let maxInFlight { arguments += ["--max-in-flight", String(maxInFlight)] }
        if let stream = traffic.stream { arguments += ["--stream", stream] }
        if let statsTtl = traffic.statsTtl { arguments += ["--stats-ttl", String(statsTtl)] }
        if let partitions = traffic.partitions { arguments += ["--partitions", String(partitions)] }
        if connection.cluster { arguments += ["--cluster"] }
        return try WorkerProcesses.start(arguments)
    }

    /// Ready = every worker's consumer connection shows in `CLIENT LIST` (it connects after the model
    /// and functions are loaded). A blocked first `XREADGROUP` does not register the consumer yet.
    private func waitUntilReady(names: [String], processes: [Process], stream: String, group: String, redis: RedisConnection) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(readyTimeout * 1000))
        while clock.now < deadline {
            if let exited = processes.first(where: { !$0.isRunning }) {
                throw FraudError(.failedCheck, "a worker exited before it was ready (status \(exited.terminationStatus)); is there a model? run `fraudstream prepare`")
            }
            // Every node of a cluster: a consumer connects to its stream's primary.
            var clients = ""
            for node in (try? await redis.primaryConnections()) ?? [redis] {
                clients += (try? await node.send(RedisCommand("CLIENT", "LIST")).string) ?? ""
            }
            if names.allSatisfy({ clients.contains("name=fraudstream-\($0)-consumer ") || clients.contains("name=fraudstream-\($0)-consumer-p") }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw FraudError(.failedCheck, "workers not ready after \(readyTimeout) s")
    }

    /// The run's statistics as a report (or JSON with `--json`), after the writers' latency histograms had time
    /// to be flushed (workers and the server flush every second).
    private func printStatistics(run: String, namespace ns: String, resultsStreams resultsStreamNames: [String], redis: RedisConnection) async throws {
        try await Task.sleep(for: .milliseconds(1_200))
        let statistics = try await RunStatistics.load(run: run, namespace: ns, resultsStreams: resultsStreamNames, on: redis)
        if json {
            printJSON(statistics.jsonObject)
        } else {
            printLine("")
            printLine(statistics.report)
        }
    }

    /// The open-loop HTTP load test against `fraudstream serve`.
    private func runHTTP(
        _ target: HTTPTarget, redis: RedisConnection, streams: StreamNames, say: @escaping @Sendable (String) -> Void
    ) async throws {
        let ns = streams.namespace
        let resultsStreamNames = streams.partitions.map(\.results)
        let run = traffic.runId ?? TrafficGenerator.makeRunId()
        let prepared = try await PreparedWorld.load(namespace: ns, on: redis)
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = traffic.users ?? prepared?.users ?? 5_000
        worldConfiguration.days = 1
        worldConfiguration.seed = traffic.worldSeed ?? prepared?.seed ?? 42
        var options = HTTPLoadTest.Options(host: target.host, port: target.port, runId: run, plan: traffic.plan)
        options.fraudRatio = traffic.fraudRatio
        options.seed = traffic.seed
        options.connections = connections
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["FRAUDSTREAM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        options.timeScale = traffic.timeScale ?? max(1, traffic.ratePerSecond * 86_400 / (Double(worldConfiguration.users) * 6))
        // Event time continues the namespace's clock, as the stream generator's does: never behind what users' state holds.
        let reservation = try await EventClock(namespace: ns).reserve(
            lengthMilliseconds: TrafficLane.endMilliseconds(plan: options.plan, startEventMilliseconds: 0, timeScale: options.timeScale),
            now: Int64(Date().timeIntervalSince1970 * 1000), on: redis)
        options.startEventMilliseconds = reservation.startMilliseconds
        options.seed = EventClock.trafficSeed(traffic.seed, runNumber: reservation.runNumber)
        let plan = options.plan
        say("load-test   run \(run): \(plan.totalCount) requests, \(traffic.pattern) around \(Int(traffic.ratePerSecond))/s for "
            + String(format: "%.1f s", plan.durationSeconds) + " → POST \(target.description)/v1/score on \(connections) connections")
        let report = try await HTTPLoadTest(options: options, world: WorldGenerator.generate(worldConfiguration)).run { sent, seconds in
            say("progress    \(sent) / \(plan.totalCount) sent, \(String(format: "%.1f", seconds)) s")
        }
        let statuses = report.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        func ms(_ percentile: Double) -> String { String(format: "%.2f", report.latency.percentile(percentile) / 1000) }
        say(String(format: "sent        %d requests in %.2f s: target %.0f/s, achieved %.0f/s", report.sent, report.seconds,
                   plan.averagePerSecond, report.achievedPerSecond))
        say("answers     \(statuses.isEmpty ? "none" : statuses); degraded \(report.degraded); connection failures \(report.failed)")
        say("latency     from scheduled send: p50 \(ms(50)) ms, p90 \(ms(90)) ms, p99 \(ms(99)) ms, p99.9 \(ms(99.9)) ms, max "
            + String(format: "%.2f ms", report.latency.maximum / 1000))
        if let refused = report.statuses[401] ?? report.statuses[403] {
            throw FraudError(
                .failedCheck,
                "the scoring API refused \(refused) requests (\(report.statuses[401] != nil ? "401: no valid API key" : "403: the key lacks the score scope")); "
                    + "give --api-key or FRAUDSTREAM_API_KEY a key with the score scope (fraudstream apikeys create --name NAME --scope score)")
        }
        // The server records decisions after answering: wait until the run's counters have them all.
        let answered = report.statuses[200] ?? 0
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(drainTimeout * 1000))
        var recorded = 0
        while clock.now < deadline {
            recorded = try await RunStatistics.counters(run: run, namespace: ns, resultsStreams: resultsStreamNames, on: redis)["processed"] ?? 0
            if recorded >= answered { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await printStatistics(run: run, namespace: ns, resultsStreams: resultsStreamNames, redis: redis)
        if recorded < answered {
            throw FraudError(.failedCheck, "\(answered - recorded) answered requests of run \(run) are not in the run's statistics")
        }
    }
}

/// `http://host:port` of `load-test --http`.
struct HTTPTarget: CustomStringConvertible {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let components = URLComponents(string: text), components.scheme == "http", let host = components.host, !host.isEmpty else {
            return nil
        }
        self.host = host
        port = components.port ?? 80
    }

    var description: String { "http://\(host):\(port)" }
}
