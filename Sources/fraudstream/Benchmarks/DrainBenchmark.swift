import FraudCore
import FraudServer
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// Drains a pre-loaded backlog with one worker (in this process) and the full feature set.
struct DrainBenchmark {
    var configuration: RedisConfiguration
    var transactions: Int
    var worker: WorkerConfiguration
    /// Users of the world the backlog comes from (issue 12's workload: 10,000).
    var users = 10_000
    var namespace = "bench"
    /// What the drain runs beside the pipeline: nothing (`off`: no fraud counts over time either), the product's
    /// defaults (`defaults`: counts over time, no metrics listener), or those plus the metrics listener scraped
    /// over HTTP every second (`scraped`, fifteen times Prometheus's default rate).
    enum Observability: String { case off, defaults, scraped }
    var observability = Observability.defaults
    /// Workers draining together (each in this process, its own consumer name).
    var workers = 1
    /// The server is a Redis Cluster: the streams are partitioned (`<ns>:transactions:{p0}` …).
    var cluster = false
    /// Input partitions (with `cluster`, at least 1 tagged partition).
    var partitions = 1
    /// A feature set promoted before the drain (the worker computes it beside the built-in features).
    var featureSet: FeatureSet?

    /// Median time of one `probability` call over real rows.
    static func inferenceMicroseconds(_ record: ModelRecord, rows: [[Double]]) -> Double {
        inferenceMicroseconds(rows: rows) { record.probability($0) }
    }

    /// Median time of one call of `probability` over `rows`, in seven passes.
    static func inferenceMicroseconds(rows: [[Double]], _ probability: ([Double]) -> Double) -> Double {
        var passes: [Double] = []
        var sink = 0.0
        for _ in 0..<7 {
            let start = ContinuousClock.now
            for row in rows { sink += probability(row) }
            passes.append((ContinuousClock.now - start).seconds * 1e6 / Double(rows.count))
        }
        if sink.isNaN { print("") }  // keeps the loop from being optimised away
        return median(passes)
    }

    /// Twenty rules: the 11 built-in ones and 9 of the kinds a fraud team adds (lists, text fields, arithmetic).
    static let twentyRules = RuleSet.defaultText + """
        amount > 2000 and distance_from_home_km > 500 and new_device => review reason far_new_device_high_amount
        merchant_category in ["gift_cards", "jewelry", "electronics"] and tx_count_1h >= 3 => score +0.2 reason gift_card_burst
        card_provider == "AMEX" and amount < 1 => decline reason amex_probe
        amount_to_mean_ratio >= 10 and user_tx_count >= 3 => decline reason extreme_amount_spike
        hour_of_day in [1, 2, 3, 4] and amount > 500 => review reason night_spend
        tx_count_24h > 50 or distinct_merchants_1h > 8 => review reason heavy_user
        risk_score * amount > 400 and not preferred_card_match => score +0.1 reason risky_card_mismatch
        merchant_id in ["m1", "m2", "m3"] and account_age_days < 30 => review reason new_account_watched_merchant
        seconds_since_last < 2 and merchant_pair_count == 0 => score +0.05 reason rapid_new_merchant

        """

    /// The cost of 20 rules per transaction in µs: `decide` with them minus `decide` with none.
    static func rulesMicroseconds(rows: [[Double]], transactions: [Transaction]) -> Double {
        guard let twenty = try? RuleSet(parsing: twentyRules), let none = try? RuleSet(parsing: "") else { return .nan }
        func pass(_ rules: FraudRules) -> Double {
            var sink = 0
            let start = ContinuousClock.now
            for index in rows.indices {
                let decision = rules.decide(score: 0.1, features: rows[index], modelVersion: 1, transaction: transactions[index % transactions.count])
                sink &+= decision.reasons.utf8.count
            }
            if sink == -1 { print("") }
            return (ContinuousClock.now - start).seconds * 1e6 / Double(rows.count)
        }
        let with = FraudRules(threshold: 0.7, reviewThreshold: 0.3, ruleSet: twenty)
        let without = FraudRules(threshold: 0.7, reviewThreshold: 0.3, ruleSet: none)
        var differences: [Double] = []
        for _ in 0..<7 { differences.append(pass(with) - pass(without)) }
        return median(differences)
    }

    /// One drain's figures.
    struct Sample {
        var preloadPerSecond: Double
        var drainPerSecond: Double
        var redisMicroseconds: Double
        /// The busiest primary's share (a single server: all of it).
        var busiestNodeMicroseconds: Double
        var workerMicroseconds: Double
        var commands: [(command: String, callsPerTransaction: Double, microsecondsPerTransaction: Double)]
        var results: Int
        var pending: Int
        var roundTripsPerBatch: Double
        var averageBatch: Int
        var featuresMicroseconds: Double
        var scoringMicroseconds: Double
        var writeMicroseconds: Double
        var queueMicroseconds: Double
    }

    /// Runs `repeats` drains, each from the same freshly prepared state, and adds the medians to `table`.
    func run(into table: inout BenchTable, repeats: Int) async throws {
        var model: ModelRecord?
        var samples: [Sample] = []
        for _ in 0..<max(1, repeats) {
            samples.append(try await sample(model: &model, table: &table))
        }
        add(samples, to: &table)
    }

    /// Prepares the namespace (the model is trained on the first call only) and drains one backlog.
    /// `beforeDrain` runs once the backlog is loaded, just before the worker starts (the floor suite snapshots the state
    /// there and starts recording).
    func sample(
        model: inout ModelRecord?, table: inout BenchTable, beforeDrain: ((RedisConnection) async throws -> Void)? = nil
    ) async throws -> Sample {
        let redis = try await RedisConnection.connect(configuration, name: "bench-drain")
        // Start from an empty namespace, so a server given with --redis-url gives comparable numbers.
        let keyspace = Keyspace(namespace: namespace)
        // The namespace's keys, and those whose hash tag starts with it (the API keys: `{<ns>:apikeys}`).
        try await keyspace.delete(
            try await keyspace.keys(matching: "\(namespace):*", on: redis) + keyspace.keys(matching: "{\(namespace):*", on: redis), on: redis)
        // A small world, prepared exactly as `fraudstream prepare` does.
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = users
        worldConfiguration.days = 7
        worldConfiguration.seed = 11
        let world = WorldGenerator.generate(worldConfiguration)
        let store = FeatureStore(namespace: namespace)
        let shape = try await store.install(
            world, blocklistCapacity: FeatureStore.defaultBlocklistCapacity,
            falsePositiveRate: FeatureStore.defaultBlocklistFalsePositiveRate, on: redis).shape
        let settings = FeatureSettings(namespace: namespace)
        let rows = try await store.replay(world.history, extractor: FeatureExtractor(settings: settings, blocklistShape: shape), on: redis)
        let record: ModelRecord
        if let trained = model {
            record = trained
        } else {
            record = ModelTraining.train(
                history: world.history, rows: rows, parameters: GBDTParameters(), threshold: 0.7,
                trainingData: "bench users=\(users) days=7 seed=11", now: 0)
            model = record
            table.add(
                "model inference per transaction (\(record.parameters.trees) trees)", String(format: "%.2f", Self.inferenceMicroseconds(record, rows: rows)),
                "µs", "median of 7 passes over \(rows.count) real feature rows; target <= 5")
            table.add(
                "20 rules per transaction", String(format: "%.2f", Self.rulesMicroseconds(rows: rows, transactions: world.history)), "µs",
                "decide() with 20 rules minus with none, median of 7 passes over the same rows; target <= 2")
        }
        _ = try await ModelStore(namespace: namespace).save(record, promote: true, on: redis)
        if let featureSet {
            _ = try await FeatureSetStore(namespace: namespace).save(featureSet.text, note: "bench", promote: true, on: redis)
        }

        // The backlog: live traffic from the same world.
        var synthesizer = TrafficSynthesizer(world: world, seed: 5, fraudRatio: 0.02, runId: "bench-drain")
        var worker = self.worker
        worker.namespace = namespace  // derives the stream names under it
        if cluster || partitions > 1 { worker.streams = StreamNames(namespace: namespace).partitioned(count: partitions) }
        worker.consumerName = "bench"
        worker.resultTTLSeconds = 0
        worker.maxStreamLength = 0
        if observability == .off { worker.timeSeriesRetentionSeconds = 0 }
        let loadStart = ContinuousClock.now
        var start = 0
        let base = Int64(Date().timeIntervalSince1970 * 1000)
        while start < transactions {
            let end = min(transactions, start + 5_000)
            var commands: [RedisCommand] = []
            commands.reserveCapacity(end - start)
            for index in start..<end {
                let transaction = synthesizer.next(timestampMilliseconds: base + Int64(index))
                var command = RedisCommand("XADD", worker.streams.partition(forUser: transaction.userId).transactions, "*")
                for (name, value) in transaction.streamFields {
                    command.append(name)
                    command.append(value)
                }
                commands.append(command)
            }
            _ = try await redis.pipeline(commands)
            start = end
        }
        let loadSeconds = (ContinuousClock.now - loadStart).seconds

        var logger = Logger(label: "bench.worker")
        logger.logLevel = .warning
        let metricsPort = Mutex<Int?>(nil)
        let quiet = logger
        let endpoint: (@Sendable (FraudMetrics) -> any Service)? =
            observability == .scraped
            ? { @Sendable (metrics: FraudMetrics) -> any Service in
                MetricsEndpoint(metrics: metrics, host: "127.0.0.1", port: 0, logger: quiet) { port in metricsPort.withLock { $0 = port } }
            } : nil
        var assemblies: [Worker.Assembly] = []
        for index in 0..<max(1, workers) {
            var named = worker
            if workers > 1 { named.consumerName = "bench-\(index + 1)" }
            assemblies.append(try await Worker(configuration: named, redis: configuration, logger: logger).assemble(
                signals: [], metricsEndpoint: index == 0 ? endpoint : nil))
        }
        let assembly = assemblies[0]
        let scraper = Task {
            guard endpoint != nil else { return }
            var connection: HTTPConnection?
            while !Task.isCancelled {
                if connection == nil, let port = metricsPort.withLock({ $0 }) {
                    connection = try? await HTTPConnection.connect(host: "127.0.0.1", port: port)
                }
                _ = try? await connection?.request(.GET, "/metrics")
                try? await Task.sleep(for: .seconds(1))
            }
            await connection?.close()
        }
        defer { scraper.cancel() }
        if let beforeDrain { try await beforeDrain(redis) }
        let clock = ContinuousClock()
        _ = try await redis.send(RedisCommand("CONFIG", "RESETSTAT"))
        let before = try await CPUMeter.read(redis)
        let drainStart = clock.now
        let groups = assemblies.map { assembly in Task { try await assembly.run() } }
        func done() -> Int { assemblies.reduce(0) { $0 + $1.counters.snapshot.written + $1.counters.snapshot.deadLettered } }
        while done() < transactions {
            try await Task.sleep(for: .milliseconds(10))
        }
        let drainSeconds = (clock.now - drainStart).seconds
        let after = try await CPUMeter.read(redis)
        for assembly in assemblies { await assembly.group.triggerGracefulShutdown() }
        for group in groups { try await group.value }
        var snapshot = assembly.counters.snapshot
        for other in assemblies.dropFirst() {
            let more = other.counters.snapshot
            snapshot.written += more.written
            snapshot.deadLettered += more.deadLettered
            snapshot.featureMicroseconds += more.featureMicroseconds
            snapshot.scoringMicroseconds += more.scoringMicroseconds
            snapshot.writeMicroseconds += more.writeMicroseconds
            snapshot.queueMicroseconds += more.queueMicroseconds
            snapshot.roundTrips += more.roundTrips
            snapshot.batches += more.batches
        }
        var resultCount = 0
        var pending = 0
        for partition in worker.streams.partitions {
            resultCount += try await redis.send(RedisCommand("XLEN", partition.results)).int ?? 0
            pending += try await redis.send(XPendingSummary(stream: partition.transactions, group: worker.consumerGroup)).count
        }

        func perTransaction(_ micros: Int) -> Double { Double(micros) / Double(max(1, snapshot.written)) }
        let drained = Double(max(1, snapshot.written))
        return Sample(
            preloadPerSecond: Double(transactions) / loadSeconds, drainPerSecond: Double(snapshot.written) / drainSeconds,
            redisMicroseconds: (after.redisMicroseconds - before.redisMicroseconds) / drained,
            busiestNodeMicroseconds: zip(after.nodeMicroseconds, before.nodeMicroseconds).map { $0 - $1 }.max().map { $0 / drained } ?? 0,
            workerMicroseconds: (after.processMicroseconds - before.processMicroseconds) / drained,
            commands: CPUMeter.commandCosts(from: before, to: after, transactions: Int(drained)), results: resultCount, pending: pending,
            roundTripsPerBatch: Double(snapshot.roundTrips) / Double(max(1, snapshot.batches)),
            averageBatch: snapshot.written / max(1, snapshot.batches), featuresMicroseconds: perTransaction(snapshot.featureMicroseconds),
            scoringMicroseconds: perTransaction(snapshot.scoringMicroseconds), writeMicroseconds: perTransaction(snapshot.writeMicroseconds),
            queueMicroseconds: perTransaction(snapshot.queueMicroseconds))
    }

    /// The medians of `samples` (and the range of the headline figures) as table rows.
    func add(_ samples: [Sample], to table: inout BenchTable) {
        func middle(_ value: (Sample) -> Double) -> Double { median(samples.map(value)) }
        func range(_ value: (Sample) -> Double, _ format: (Double) -> String) -> String {
            let values = samples.map(value)
            return samples.count > 1 ? "\(format(values.min() ?? 0))–\(format(values.max() ?? 0)) over \(samples.count) drains; " : ""
        }
        let oneDecimal: (Double) -> String = { String(format: "%.1f", $0) }
        table.add("preload \(transactions) transactions (XADD, pipelined)", grouped(middle(\.preloadPerSecond)), "tx/s", "generator side")
        table.add(
            "drain \(transactions) from \(users) users, 1 worker", grouped(middle(\.drainPerSecond)), "tx/s",
            range(\.drainPerSecond, grouped) + "target >= 40,000; batch \(worker.batchSize), fetchers \(worker.fetchers), "
                + "writers \(worker.writers), in-flight \(worker.maxInFlight)")
        table.add(
            "  Redis CPU per tx", oneDecimal(middle(\.redisMicroseconds)), "µs",
            range(\.redisMicroseconds, oneDecimal) + "INFO cpu used_cpu_user+sys during the drain / tx; target <= 20")
        table.add(
            "  worker CPU per tx", oneDecimal(middle(\.workerMicroseconds)), "µs",
            range(\.workerMicroseconds, oneDecimal) + "getrusage of the worker's process during the drain / tx; target <= 15")
        var names: [String] = []
        for sample in samples { for cost in sample.commands where !names.contains(cost.command) { names.append(cost.command) } }
        let costs = names.map { name -> (String, Double, Double) in
            let matching = samples.map { $0.commands.first { $0.command == name } }
            return (name, median(matching.map { $0?.callsPerTransaction ?? 0 }), median(matching.map { $0?.microsecondsPerTransaction ?? 0 }))
        }.sorted { $0.2 > $1.2 }
        for (name, calls, micros) in costs.prefix(16) {
            table.add(
                "    \(name)", String(format: "%.2f", micros), "µs/tx",
                String(format: "INFO commandstats: %.2f calls per tx (FCALL includes the commands it runs)", calls))
        }
        let last = samples[samples.count - 1]
        table.add(
            "  results written / pending after drain", "\(last.results) / \(last.pending)", "entries",
            "exactly one result each, nothing pending (last drain)")
        table.add(
            "  Redis round trips per batch", String(format: "%.2f", middle(\.roundTripsPerBatch)), "trips",
            "read + features per fetcher + write/ack; avg batch \(last.averageBatch)")
        table.add("  features (pipelined FCALLs) per tx", oneDecimal(middle(\.featuresMicroseconds)), "µs", "wall time of the stage / tx")
        table.add("  scoring (trees + rules) per tx", oneDecimal(middle(\.scoringMicroseconds)), "µs", "")
        table.add("  write + ack per tx", oneDecimal(middle(\.writeMicroseconds)), "µs", "")
        table.add("  queue wait per tx (summed per batch)", oneDecimal(middle(\.queueMicroseconds)), "µs", "time between stages")
    }

    /// Drains with observability off, at the defaults and scraped, interleaved `repeats` times, and adds each
    /// one's medians and their ratio to `off` to `table`.
    func compareObservability(into table: inout BenchTable, repeats: Int) async throws {
        var model: ModelRecord?
        var samples: [Observability: [Sample]] = [:]
        var scratch = BenchTable()
        for _ in 0..<max(1, repeats) {
            for mode in [Observability.off, .defaults, .scraped] {
                var benchmark = self
                benchmark.observability = mode
                samples[mode, default: []].append(try await benchmark.sample(model: &model, table: &scratch))
            }
        }
        let base = samples[.off] ?? []
        let baseRate = median(base.map(\.drainPerSecond))
        for mode in [Observability.off, .defaults, .scraped] {
            let modeSamples = samples[mode] ?? []
            let rate = median(modeSamples.map(\.drainPerSecond))
            let what = switch mode {
            case .off: "no counts over time, no listener"
            case .defaults: "counts over time (TIMESERIES_RETENTION default)"
            case .scraped: "counts over time + /metrics scraped every 1 s"
            }
            table.add(
                "drain, observability \(mode.rawValue)", grouped(rate), "tx/s",
                String(format: "%.1f%% of off; ", rate / max(baseRate, 1) * 100) + "\(what); median of \(modeSamples.count)")
            table.add("  Redis CPU per tx", String(format: "%.1f", median(modeSamples.map(\.redisMicroseconds))), "µs", "")
            table.add("  worker CPU per tx", String(format: "%.1f", median(modeSamples.map(\.workerMicroseconds))), "µs", "")
        }
    }

    /// The same drain on this benchmark's single server and on a local 3-primary cluster (`clusterConfiguration`)
    /// with one and with two workers, interleaved `repeats` times; adds medians and the Redis CPU ratio to `table`.
    func compareCluster(clusterConfiguration: RedisConfiguration, into table: inout BenchTable, repeats: Int) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        var onCluster = self
        onCluster.configuration = clusterConfiguration
        onCluster.cluster = true
        var twoWorkers = onCluster
        twoWorkers.workers = 2
        var partitioned = twoWorkers
        partitioned.partitions = 3
        let runs = [
            ("single server, 1 worker", self), ("3-primary cluster, 1 worker", onCluster), ("3-primary cluster, 2 workers", twoWorkers),
            ("3-primary cluster, 3 partitions, 2 workers", partitioned),
        ]
        var samples: [[Sample]] = Array(repeating: [], count: runs.count)
        for _ in 0..<max(1, repeats) {
            for (index, run) in runs.enumerated() {
                samples[index].append(try await run.1.sample(model: &model, table: &scratch))
            }
        }
        let single = median(samples[0].map(\.redisMicroseconds))
        for (index, run) in runs.enumerated() {
            let redis = median(samples[index].map(\.redisMicroseconds))
            table.add(
                "drain, \(run.0)", grouped(median(samples[index].map(\.drainPerSecond))), "tx/s",
                "median of \(samples[index].count); \(samples[index].last?.results ?? 0) results, \(samples[index].last?.pending ?? 0) pending")
            table.add(
                "  Redis CPU per tx (all primaries)", String(format: "%.1f", redis), "µs",
                index == 0 ? "INFO cpu" : String(format: "%.2f× the single server; target within 1.15×", redis / max(single, 0.001)))
            table.add("  busiest primary per tx", String(format: "%.1f", median(samples[index].map(\.busiestNodeMicroseconds))), "µs", "")
            table.add("  worker CPU per tx", String(format: "%.1f", median(samples[index].map(\.workerMicroseconds))), "µs", "all workers")
        }
    }

    /// The same drain over plaintext and over TLS to one server (its plain and its TLS port), interleaved in pairs.
    func compareTLS(tlsConfiguration: RedisConfiguration, into table: inout BenchTable, repeats: Int) async throws {
        var overTLS = self
        overTLS.configuration = tlsConfiguration
        try await compare(
            [("plaintext", self), ("TLS (rediss://, in-process bridge)", overTLS)], baseline: "plaintext", target: "; target at least 70%",
            commandRows: false, into: &table, repeats: repeats)
    }

    /// The same drain against Redis and against Valkey, interleaved in pairs, with each server's command costs.
    func compareServers(_ servers: [(name: String, configuration: RedisConfiguration)], into table: inout BenchTable, repeats: Int) async throws {
        let runs = servers.map { server -> (String, DrainBenchmark) in
            var drain = self
            drain.configuration = server.configuration
            return (server.name, drain)
        }
        try await compare(runs, baseline: servers.first?.name ?? "", target: "", commandRows: true, into: &table, repeats: repeats)
    }

    /// Runs `runs` in turn, `repeats` times (interleaved), and adds each one's medians with its ratio to the first.
    private func compare(
        _ runs: [(String, DrainBenchmark)], baseline: String, target: String, commandRows: Bool, into table: inout BenchTable, repeats: Int
    ) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        var samples: [[Sample]] = Array(repeating: [], count: runs.count)
        for _ in 0..<max(1, repeats) {
            for (index, run) in runs.enumerated() {
                samples[index].append(try await run.1.sample(model: &model, table: &scratch))
            }
        }
        let first = median(samples[0].map(\.drainPerSecond))
        let firstWorker = median(samples[0].map(\.workerMicroseconds))
        let firstServer = median(samples[0].map(\.redisMicroseconds))
        for (index, run) in runs.enumerated() {
            let rate = median(samples[index].map(\.drainPerSecond))
            let worker = median(samples[index].map(\.workerMicroseconds))
            let server = median(samples[index].map(\.redisMicroseconds))
            table.add(
                "drain, \(run.0)", grouped(rate), "tx/s",
                (index == 0 ? "median of \(samples[index].count)" : String(format: "%.0f%% of \(baseline)", 100 * rate / max(first, 1)) + target)
                    + "; \(samples[index].last?.results ?? 0) results, \(samples[index].last?.pending ?? 0) pending")
            table.add(
                "  worker CPU per tx", String(format: "%.1f", worker), "µs",
                index == 0 ? "getrusage" : String(format: "%.2f× \(baseline)", worker / max(firstWorker, 0.001)))
            table.add(
                "  server CPU per tx", String(format: "%.1f", server), "µs",
                index == 0 ? "INFO cpu" : String(format: "%.2f× \(baseline)", server / max(firstServer, 0.001)))
            guard commandRows, let last = samples[index].last else { continue }
            for command in last.commands.sorted(by: { $0.microsecondsPerTransaction > $1.microsecondsPerTransaction }).prefix(4) {
                table.add(
                    "    \(command.command)", String(format: "%.1f", command.microsecondsPerTransaction), "µs",
                    String(format: "INFO commandstats: %.3f calls per tx (last drain)", command.callsPerTransaction))
            }
        }
    }

    /// `count` definitions over four entities (user, device, IP, merchant), alternately `count()` and `sum(amount)`,
    /// each with its own window so no two compute the same measure.
    static func addedFeatures(_ count: Int) -> FeatureSet {
        let entities = ["user_id", "device_id", "ip", "merchant_id"]
        let text = (0..<count).map { index in
            let entity = entities[index % entities.count]
            let window = index / entities.count + 1
            return index % 2 == 0
                ? "f\(index) = count() by \(entity) over \(window)m" : "f\(index) = sum(amount) by \(entity) over \(window)m"
        }.joined(separator: "\n")
        return (try? FeatureSet.parse(text)) ?? FeatureSet(definitions: [])
    }

    /// The drain with the built-in features alone, with 10 and with 50 added features over four entities, interleaved
    /// `repeats` times; adds each one's medians and what an added feature costs to `table`.
    func compareFeatureSets(into table: inout BenchTable, repeats: Int) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        let counts = [0, 10, 50]
        var samples: [[Sample]] = Array(repeating: [], count: counts.count)
        for _ in 0..<max(1, repeats) {
            for (index, count) in counts.enumerated() {
                var drain = self
                drain.featureSet = count == 0 ? nil : Self.addedFeatures(count)
                samples[index].append(try await drain.sample(model: &model, table: &scratch))
            }
        }
        let redis = samples.map { median($0.map(\.redisMicroseconds)) }
        let worker = samples.map { median($0.map(\.workerMicroseconds)) }
        for (index, count) in counts.enumerated() {
            table.add(
                "drain, \(count == 0 ? "built-in features only" : "built-in + \(count) features over 4 entities")",
                grouped(median(samples[index].map(\.drainPerSecond))), "tx/s",
                "median of \(samples[index].count); \(samples[index].last?.results ?? 0) results, \(samples[index].last?.pending ?? 0) pending")
            table.add("  Redis CPU per tx", String(format: "%.1f", redis[index]), "µs", index == 0 ? "INFO cpu" : String(format: "+%.1f µs over built-in only", redis[index] - redis[0]))
            table.add("  worker CPU per tx", String(format: "%.1f", worker[index]), "µs", index == 0 ? "getrusage" : String(format: "+%.1f µs over built-in only", worker[index] - worker[0]))
            guard let last = samples[index].last else { continue }
            for command in last.commands.sorted(by: { $0.microsecondsPerTransaction > $1.microsecondsPerTransaction }).prefix(6) {
                table.add(
                    "    \(command.command)", String(format: "%.1f", command.microsecondsPerTransaction), "µs",
                    String(format: "INFO commandstats: %.3f calls per tx (last drain)", command.callsPerTransaction))
            }
        }
        table.add(
            "  Redis CPU per added feature, its entity's first", String(format: "%.2f", (redis[1] - redis[0]) / 10), "µs/tx",
            "(10 features − built-in only) / 10: four entity calls and their state, shared by 10 features")
        table.add(
            "  Redis CPU per added count or sum feature", String(format: "%.2f", (redis[2] - redis[1]) / 40), "µs/tx",
            "(50 − 10 features) / 40, on entities that already have one; target <= 1")
    }
}
