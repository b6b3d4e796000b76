import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream monitor`: live view, latest results, runs and run statistics.
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Watch results live, or print the latest results, the runs, or a run's statistics.",
        discussion: """
            Without a mode flag: a refreshing view of the newest results (fraud in red, latency over \
            --budget-ms highlighted), throughput, and each consumer group's backlog (entries after its last \
            delivered id, counted up to 10000, plus pending). Ctrl-C quits.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions

    @Flag(help: "Print the newest results and exit.") var latest = false
    @Option(help: "How many results --latest (default 10) and the live view (default: as many as the terminal shows) print.") var count: Int?
    @Flag(help: "List runs (found with SCAN).") var runs = false
    @Flag(help: "Print a run's statistics (the newest run unless --run-id).") var stats = false
    @Option(help: "The run for --stats and --plot.") var runId: String?
    @Flag(help: "Machine-readable output for --latest, --runs and --stats.") var json = false
    @Option(help: "Write an SVG chart of a run to this file: decisions, fraud rate and reasons over time (from the fraud counts over time), and latency by percentile.") var plot: String?
    @Option(help: "Latency budget in ms; results over it are highlighted.") var budgetMs: Double = 5
    @Option(help: "Refresh interval of the live view, seconds.") var refresh: Double = 1
    @Option(help: "Stop the live view after this many refreshes (0 = until Ctrl-C).") var iterations: Int = 0
    @Option(parsing: .unconditional, help: "Partitions of the input, as the producers and workers use them [PARTITIONS] (default 1).") var partitions: Int?

    /// Settings of this command: connection, namespace and partitions.
    var settings: SettingsResolver {
        .command(connection.flags, namespace.flags, [Settings.partitions: partitions.map(String.init)])
    }

    func validate() throws {
        let modes = [latest ? "--latest" : nil, runs ? "--runs" : nil, stats || plot != nil ? "--stats/--plot" : nil].compactMap { $0 }
        if modes.count > 1 { throw ValidationError("\(modes.joined(separator: " and ")) are different views; give one of them") }
        if json && modes.isEmpty { throw ValidationError("--json needs --latest, --runs or --stats (the live view is for a terminal)") }
        if json && plot != nil && !stats { throw ValidationError("--json needs --latest, --runs or --stats (--plot writes a file)") }
        if let count, count < 1 { throw ValidationError("--count must be >= 1") }
        if refresh <= 0 { throw ValidationError("--refresh must be > 0") }
        if let plot {
            let directory = URL(fileURLWithPath: plot).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--plot: the directory \(directory) does not exist")
            }
        }
    }

    /// What the empty views say, so a fresh namespace is not a blank screen.
    static let nothingYet = "nothing yet — run fraudstream generate (and a worker)"

    func run() async throws {
        let settings = self.settings
        _ = try settings.integer(Settings.partitions, in: 1...1_024)
        let redis = try await RedisConnection.connect(try connection.configuration(settings, name: "fraudstream-monitor"))
        // Named as the worker names them on this Redis (a cluster's streams carry their partition tag).
        let streams = await settings.streams(on: redis)
        let ns = streams.namespace
        let resultsStreamNames = streams.partitions.map(\.results)
        if runs {
            let list = try await RunStatistics.runIds(namespace: ns, resultsStreams: resultsStreamNames, on: redis)
            if json {
                printJSON(list.map {
                    ["run_id": $0.run, "first_ms": $0.firstMilliseconds, "transactions": $0.processed, "fraud_detected": $0.predictedFraud]
                        as [String: Any]
                })
            } else {
                if list.isEmpty { print(Self.nothingYet) }
                for summary in list {
                    print("\(summary.run.padding(toLength: 34, withPad: " ", startingAt: 0)) "
                        + "\(Date(timeIntervalSince1970: Double(summary.firstMilliseconds) / 1000))  "
                        + "\(summary.processed) scored, \(summary.predictedFraud) fraud")
                }
            }
            return
        }
        if stats || plot != nil {
            guard let run = try await resolveRun(ns, resultsStreams: resultsStreamNames, redis) else {
                throw FraudError(.notFound, "no runs under '\(ns)' yet")
            }
            // Every partition the run was generated over, whatever --partitions says.
            let runStreams = try await RunStreams.resolve(run: run, settings: settings, redis: redis, note: printLineToStandardError)
            let runResults = runStreams.partitions.map(\.results)
            guard try await RunStatistics.exists(run: run, namespace: ns, resultsStreams: runResults, on: redis) else {
                throw FraudError(.notFound, "no run '\(run)' under '\(ns)' (fraudstream monitor --runs lists them)")
            }
            let statistics = try await RunStatistics.load(run: run, namespace: ns, resultsStreams: runResults, on: redis)
            if let plot {
                let (points, step) = try await runSeries(statistics: statistics, streams: runStreams, redis: redis)
                try RunPlot.svg(statistics, points: points, stepSeconds: step).write(toFile: plot, atomically: true, encoding: .utf8)
                print("wrote \(plot)")
            }
            if stats { json ? printJSON(statistics.jsonObject) : print(statistics.report) }
            return
        }
        if latest {
            let entries = try await newest(count ?? 10, streams: streams.partitions.map(\.results), redis: redis)
            if json {
                printJSON(entries.map(\.jsonObject))
            } else if entries.isEmpty {
                print(Self.nothingYet)
            } else {
                let widths = ResultColumns(entries)
                print(widths.header)
                entries.forEach { print(line($0, widths, color: false)) }
            }
            return
        }
        try await live(streams: streams, redis: redis)
    }

    private func resolveRun(_ ns: String, resultsStreams: [String], _ redis: RedisConnection) async throws -> String? {
        if let runId { return runId }
        return try await RunStatistics.runIds(namespace: ns, resultsStreams: resultsStreams, on: redis).first?.run
    }

    /// The newest `count` results over every partition's results stream, newest first (by entry id).
    private func newest(_ count: Int, streams: [String], redis: RedisConnection) async throws -> [ResultRecord] {
        var entries: [(time: (Int64, Int64), record: ResultRecord)] = []
        for stream in streams {
            for entry in try await redis.send(XRange(stream: stream, count: count, reverse: true)) {
                guard let record = ResultRecord(id: entry.id, fields: entry.fields) else { continue }
                let parts = entry.id.split(separator: "-").map { Int64($0) ?? 0 }
                entries.append(((parts.first ?? 0, parts.last ?? 0), record))
            }
        }
        return entries.sorted { $0.time > $1.time }.prefix(count).map(\.record)
    }

    private func line(_ result: ResultRecord, _ columns: ResultColumns, color: Bool) -> String {
        var text = columns.row(result)
        guard color else { return text }
        if result.isFraud { text = "\u{1B}[31m" + text + "\u{1B}[0m" }
        if result.latencyMilliseconds > budgetMs { text += "  \u{1B}[43;30m over budget \u{1B}[0m" }
        return text
    }

    private func live(streams: StreamNames, redis: RedisConnection) async throws {
        let resultsStreams = streams.partitions.map(\.results)
        var previousLength: Int?
        var iteration = 0
        while iterations == 0 || iteration < iterations {
            iteration += 1
            var length = 0
            for stream in resultsStreams { length += try await redis.send(RedisCommand("XLEN", stream)).int ?? 0 }
            // From stream ids, not XINFO's lag, which Redis 7.0 gets wrong after an AOF reload.
            var groups: [(partition: String, backlog: GroupBacklog)] = []
            for partition in streams.partitions {
                let label = streams.partitionCount > 1 ? " p\(partition.partitionIndex)" : ""
                groups += ((try? await GroupBacklog.measure(stream: partition.transactions, on: redis)) ?? []).map { (label, $0) }
                // The archive's group on the results (fraudstream archive run): its lag.
                if let archive = try? await GroupBacklog.measure(stream: partition.results, group: "archive", on: redis) {
                    groups.append((label + " (results)", archive))
                }
            }
            // Fill the terminal: its height less the header lines (the column header too), unless --count asks for fewer.
            let header = 5 + groups.count
            let fitting = Self.terminalRows().map { max(1, $0 - header - 1) } ?? 10
            let entries = try await newest(min(count ?? fitting, 1_000), streams: resultsStreams, redis: redis)
            var screen = "\u{1B}[2J\u{1B}[H"
            screen += "FraudStream monitor  \(Date())  results: \(resultsStreams.count > 1 ? "\(resultsStreams.count) partitions of \(streams.partition(0).results.replacingOccurrences(of: "{p0}", with: "{p<i>}"))" : resultsStreams[0])\n"
            if let previousLength {
                screen += String(format: "throughput  %.0f results/s\n", Double(length - previousLength) / refresh)
            }
            screen += await lastMinuteLine(streams: streams, redis: redis) + "\n"
            for (partition, group) in groups {
                screen += "group       \(group.group)\(partition): \(group), consumers \(group.consumers)\n"
            }
            if entries.isEmpty {
                screen += "\n" + Self.nothingYet + "\n"
            } else {
                let columns = ResultColumns(entries)
                screen += "\n" + columns.header + "\n" + entries.map { line($0, columns, color: true) }.joined(separator: "\n") + "\n"
            }
            print(screen, terminator: "")
            previousLength = length
            try await Task.sleep(for: .seconds(refresh))
        }
    }

    /// The terminal's height in rows, or `nil` when standard output is not a terminal.
    static func terminalRows() -> Int? {
        var size = winsize()
        guard isatty(STDOUT_FILENO) == 1, ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0 else { return nil }
        return Int(size.ws_row)
    }

    /// The fraud counts over time across the run (first to last result): per second when the run lasted at
    /// most an hour and is recent enough to still have them, else per minute.
    private func runSeries(statistics: RunStatistics, streams: StreamNames, redis: RedisConnection) async throws -> ([TimeSeriesPoint], Int) {
        guard let first = statistics.counters["first_ms"], let last = statistics.counters["last_ms"] else { return ([], 1) }
        let series = TimeSeries(streams: streams)
        let now = try await TimeSeries.serverMilliseconds(on: redis)
        let keptPerSecond = Int64(TimeSeriesKeys.perSecondRetentionCapSeconds) * 1_000
        if last - first <= 3_600_000 && now - Int64(first) < keptPerSecond {
            return (try await series.read(from: Int64(first), to: Int64(last), resolution: .second, on: redis), 1)
        }
        return (try await series.read(from: Int64(first), to: Int64(last), resolution: .minute, on: redis), 60)
    }

    /// The live view's summary of the last minute, from the fraud counts over time.
    private func lastMinuteLine(streams: StreamNames, redis: RedisConnection) async -> String {
        let series = TimeSeries(streams: streams)
        guard let now = try? await TimeSeries.serverMilliseconds(on: redis),
              let totals = try? await series.totals(lastSeconds: 60, now: now, on: redis)
        else { return "last 60 s    (fraud counts over time unavailable)" }
        return Self.lastMinuteText(totals)
    }

    /// `last 60 s    1200 scored (20.0/s): approve 1100, review 80, decline 20; flagged 1.7%; dead letters 0; top reasons …`.
    static func lastMinuteText(_ totals: [String: Int]) -> String {
        let scored = totals["scored"] ?? 0
        let flagged = scored > 0 ? String(format: "%.1f%%", Double(totals["fraud"] ?? 0) * 100 / Double(scored)) : "n/a"
        let reasons = totals.filter { $0.key.hasPrefix("reason:") }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(3).map { "\($0.key.dropFirst(7)) \($0.value)" }
        return String(format: "last 60 s    %d scored (%.1f/s): ", scored, Double(scored) / 60)
            + "approve \(totals["approve"] ?? 0), review \(totals["review"] ?? 0), decline \(totals["decline"] ?? 0); "
            + "flagged \(flagged); dead letters \(totals["dead_letter"] ?? 0)"
            + (reasons.isEmpty ? "" : "; top reasons " + reasons.joined(separator: ", "))
    }
}

/// Prints a JSON value with sorted keys.
func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// The columns of a result line in the live view and `--latest`, with their header: the widths fit the longest
/// transaction and user ids shown, so values stay under their headers.
struct ResultColumns {
    let transactionWidth: Int
    let userWidth: Int

    init(_ results: [ResultRecord]) {
        transactionWidth = max("transaction".count, results.map(\.transactionId.count).max() ?? 0)
        userWidth = max("user".count, results.map(\.userId.count).max() ?? 0)
    }

    /// `transaction  user  score  decision  latency ms  reasons`.
    var header: String {
        cells("transaction", "user", "score", "decision", "latency ms", "reasons")
    }

    /// One result under the header.
    func row(_ result: ResultRecord) -> String {
        cells(
            result.transactionId, result.userId, String(format: "%.6f", result.score), result.decision,
            String(format: "%.3f", result.latencyMilliseconds), result.reasons.joined(separator: ","))
    }

    private func cells(_ transaction: String, _ user: String, _ score: String, _ decision: String, _ latency: String, _ reasons: String) -> String {
        // Padded, never cut: a longer value pushes the line rather than losing digits.
        func left(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        let line = [
            left(transaction, transactionWidth), left(user, userWidth), left(score, 8), left(decision, 8),
            String(repeating: " ", count: max(0, 10 - latency.count)) + latency, reasons,
        ].joined(separator: "  ")
        return String(line.reversed().drop { $0 == " " }.reversed())
    }
}
