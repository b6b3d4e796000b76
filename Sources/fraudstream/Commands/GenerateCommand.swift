import ArgumentParser
import FraudCore
import Foundation
import RedisClient
import Synchronization

/// `fraudstream generate`: synthetic traffic on an open-loop schedule.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Publish synthetic transactions (with labels and fraud scenarios) at a paced rate.",
        discussion: """
            Pacing is open-loop against a schedule: senders compare the clock with the plan and publish what \
            is due, so a slow send never shifts later sends. Each transaction's timestamp is its planned time \
            (never the moment it was sent), from a start on the namespace's event clock: a UTC midnight at least a \
            day after the previous run. Stop by --count or --duration (default 10 s). \
            Traffic uses the users and merchants of the world that `prepare` loaded (same --users/--world-seed).
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var traffic: TrafficOptions

    func run() async throws {
        _ = try await traffic.generate(connection: connection, settings: .command(connection.flags, namespace.flags, traffic.flags), printProgress: true)
    }
}

extension TrafficOptions {
    /// An epoch-millisecond time as `2026-12-08T00:00:00Z`.
    static func isoDate(_ milliseconds: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}

/// Generator flags, shared by `generate` and `load-test`.
struct TrafficOptions: ParsableArguments {
    @Option(help: "Transactions to publish (with --tps or --interval; overrides --duration).")
    var count: Int?
    @Option(help: "Seconds between transactions (the reference pipeline's flag); sets the rate to 1/interval.")
    var interval: Double?
    @Option(help: "Target transactions per second (default 1000).")
    var tps: Double?
    @Option(help: "Seconds to run (default 10 when --count is not given).")
    var duration: Double?
    @Option(help: "Share of fraudulent transactions, 0–1.")
    var fraudRatio: Double = 0.02
    @Option(help: "Parallel publishing connections, each with its own share of the users.")
    var threads: Int = 1
    @Option(help: "Rate shape: constant, wave (±50% sinusoid), spike (5× in the middle tenth), random (0.5–1.5× per second).")
    var pattern: String = "constant"
    @Option(help: "Run id (default run-YYYYMMDD-HHMMSS-xxxx).")
    var runId: String?
    @Option(help: "Seed of the traffic: a namespace's first generated run uses it, later runs a seed derived from it and their number.")
    var seed: UInt64 = 1
    @Option(help: "Users of the world (default: those of the world `prepare` loaded, else 5000).")
    var users: Int?
    @Option(help: "Seed of the world (default: that of the world `prepare` loaded, else 42).")
    var worldSeed: UInt64?
    @Flag(help: "Add to an existing run's statistics instead of refusing a --run-id that was used before.")
    var appendRun = false
    @Option(help: "Input stream [TRANSACTION_STREAM] (default <namespace>:transactions).")
    var stream: String?
    @Option(parsing: .unconditional, help: "Partitions of the input: a transaction goes to <stream>:{p<i>}, i = CRC16(user_id) mod N [PARTITIONS] (default 1: the stream itself).")
    var partitions: Int?
    @Option(help: "Event time runs this many times faster than the schedule (default: so each user makes about 6 transactions per simulated day).")
    var timeScale: Double?
    @Option(help: "Seconds the run's statistics keys live after its last write [STATS_TTL] (default 2592000).")
    var statsTtl: Int?

    func validate() throws {
        guard TrafficPattern(rawValue: pattern) != nil else {
            throw ValidationError("--pattern must be one of constant, wave, spike, random")
        }
        if interval != nil && tps != nil {
            throw ValidationError("--interval and --tps both set the rate; give one of them")
        }
        if let users, users < 1 { throw ValidationError("--users must be >= 1") }
        if let count, count < 1 { throw ValidationError("--count must be >= 1") }
        if let interval, interval <= 0 { throw ValidationError("--interval must be > 0") }
        if let tps, tps <= 0 { throw ValidationError("--tps must be > 0") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be > 0") }
        if let timeScale, timeScale <= 0 { throw ValidationError("--time-scale must be > 0") }
        guard (0...1).contains(fraudRatio) else { throw ValidationError("--fraud-ratio must be between 0 and 1") }
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be between 1 and 64") }
        if let runId, !TransactionParser.isValidRunId(runId) {
            throw ValidationError("--run-id must be 1 to \(TransactionParser.maximumRunIdBytes) characters of A-Z a-z 0-9 . _ : -")
        }
    }

    /// The flags of this group that override settings.
    var flags: [Setting: String?] {
        [Settings.transactionStream: stream, Settings.statsTTL: statsTtl.map(String.init), Settings.partitions: partitions.map(String.init)]
    }

    var ratePerSecond: Double { tps ?? interval.map { 1 / $0 } ?? 1_000 }

    /// The schedule.
    var plan: RatePlan {
        RatePlan(
            pattern: TrafficPattern(rawValue: pattern) ?? .constant, targetPerSecond: ratePerSecond,
            durationSeconds: count == nil ? (duration ?? 10) : nil, count: count, seed: seed)
    }

    /// Runs the generator and prints target and achieved rate.
    /// `say` receives every human line (standard output by default; standard error when the caller prints JSON).
    func generate(
        connection: ConnectionOptions, settings: SettingsResolver, printProgress: Bool,
        say: @escaping @Sendable (String) -> Void = { printLine($0) }
    ) async throws -> TrafficGenerator.Report {
        _ = try settings.integer(Settings.partitions, in: 1...1_024)
        let redisConfiguration = try connection.configuration(settings, name: "fraudstream-generate")
        let redis = try await RedisConnection.connect(redisConfiguration)
        // Named as the worker names them on this Redis (a cluster's streams carry their partition tag).
        let streams = await settings.streams(on: redis)
        let run = runId ?? TrafficGenerator.makeRunId()
        if !appendRun, try await RunStatistics.exists(run: run, namespace: streams.namespace, resultsStreams: streams.partitions.map(\.results), on: redis) {
            throw FraudError(.invalidSetting, "run '\(run)' already has statistics; choose another --run-id, or add --append-run to add to it")
        }
        // The prepared world's users and merchants, unless the flags say otherwise.
        let prepared = try await PreparedWorld.load(namespace: streams.namespace, on: redis)
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = users ?? prepared?.users ?? 5_000
        worldConfiguration.days = 1
        worldConfiguration.seed = worldSeed ?? prepared?.seed ?? 42
        // A world prepared with card cycling gets it in its live traffic too.
        worldConfiguration.cardCyclingIncidents = prepared?.cardCyclingIncidents ?? 0
        if prepared == nil {
            say("warning     no world prepared under '\(streams.namespace)' (run fraudstream prepare): generating for "
                + "--users \(worldConfiguration.users) --world-seed \(worldConfiguration.seed); most results will be new_user")
        } else if let prepared, prepared.users != worldConfiguration.users || prepared.seed != worldConfiguration.seed {
            say("warning     the prepared world has --users \(prepared.users) --world-seed \(prepared.seed); generating for "
                + "--users \(worldConfiguration.users) --world-seed \(worldConfiguration.seed): expect new_user results")
        }
        let users = worldConfiguration.users
        let world = WorldGenerator.generate(worldConfiguration)
        var options = TrafficGenerator.Options(runId: run, plan: plan)
        options.namespace = streams.namespace
        options.stream = streams.transactions
        if streams.isPartitioned { options.partitions = streams }
        options.fraudRatio = fraudRatio
        options.threads = threads
        options.seed = seed
        options.timeScale = timeScale ?? max(1, ratePerSecond * 86_400 / (Double(users) * 6))
        options.statsTTLSeconds = try settings.integer(Settings.statsTTL, in: 1...Settings.maximumTTLSeconds) ?? RunStatisticsKeys.defaultTTLSeconds
        let planned = options.plan
        let durationText = String(format: "%.1f", planned.durationSeconds)
        let rateText = Int(ratePerSecond)
        say("generate    run \(run): \(planned.totalCount) transactions, \(pattern) around \(rateText)/s (average \(Int(planned.averagePerSecond.rounded()))/s) for \(durationText) s, fraud ratio \(fraudRatio), \(threads) thread(s), event time ×\(Int(options.timeScale)) → \(streams.partitionCount > 1 ? "\(streams.partitionCount) partitions of \(streams.partition(0).transactions.replacingOccurrences(of: "{p0}", with: "{p<i>}"))" : options.stream)")
        let total = planned.totalCount
        var progress: (@Sendable (Int, Double) -> Void)?
        if printProgress {
            // The rate over the last interval, so a wave or a spike shows; the average is in the final line.
            let previous = Mutex<(sent: Int, seconds: Double)>((0, 0))
            progress = { @Sendable (sent: Int, seconds: Double) in
                let last = previous.withLock { value in
                    defer { value = (sent, seconds) }
                    return value
                }
                let rate = Double(sent - last.sent) / max(seconds - last.seconds, 1e-9)
                say("progress    \(sent) / \(total) sent, \(String(format: "%.1f", seconds)) s, now \(Int(rate))/s")
            }
        }
        let report = try await TrafficGenerator(options: options, world: world).run(redis: redisConfiguration, progress: progress)
        say("event time  from \(Self.isoDate(report.startEventMilliseconds)), each transaction at its planned time × \(Int(options.timeScale)); "
            + "run \(report.runNumber) generated in '\(streams.namespace)' (the next starts at least a day after this one ends, with incidents of its own)")
        say(String(
            format: "generated   %d transactions (%d fraud) in %.2f s: target %.0f/s, achieved %.0f/s (%+.2f%%), run %@",
            report.sent, report.fraud, report.seconds, report.targetPerSecond, report.achievedPerSecond,
            (report.achievedPerSecond / report.targetPerSecond - 1) * 100, run))
        return report
    }
}
