import Foundation
import RedisClient

/// Everything known about one run: exact counters, latency histograms merged across workers, the
/// workers and their settings, and the generator's metadata.
public struct RunStatistics: Sendable {
    /// The run id.
    public var runId: String
    /// Counters over all workers (`processed`, `predicted_fraud`, `tp`, `fp`, `tn`, `fn`, `dead_letters`, …).
    public var counters: [String: Int]
    /// Worker id → its settings and its own counters.
    public var workers: [String: [String: String]]
    /// Latency histograms merged across workers.
    public var latency: StageHistograms
    /// Generator metadata (`pattern`, `target_tps`, `start_ms`, `end_ms`, …).
    public var meta: [String: String]

    /// Transactions with a result.
    public var processed: Int { counters["processed"] ?? 0 }
    /// Precision against the labels (0 when undefined).
    public var precision: Double {
        let tp = counters["tp"] ?? 0, fp = counters["fp"] ?? 0
        return tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
    }
    /// Recall against the labels (0 when undefined).
    public var recall: Double {
        let tp = counters["tp"] ?? 0, fn = counters["fn"] ?? 0
        return tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
    }
    /// Results per second between the first and the last result write.
    public var throughput: Double {
        guard let first = counters["first_ms"], let last = counters["last_ms"], last > first else { return 0 }
        return Double(processed) / (Double(last - first) / 1000)
    }

    /// The key sets a run's statistics may be under: `<ns>:stats`, and `<ns>:stats:{<tag>}` when the results
    /// stream carries a hash tag (a cluster partition). Counters add up across them.
    static func keySets(namespace: String, resultsStreams: [String]) -> [RunStatisticsKeys] {
        var sets = [RunStatisticsKeys(namespace: namespace)]
        for tag in Set(resultsStreams.compactMap(RunStatisticsKeys.tag(forResultsStream:))).sorted() {
            sets.append(RunStatisticsKeys(namespace: namespace, tag: tag))
        }
        return sets
    }

    /// Adds `more` counters to `counters`: sums, except the run's first write (smallest) and last write (largest).
    static func merge(_ more: [String: Int], into counters: inout [String: Int]) {
        for (field, value) in more {
            switch field {
            case "first_ms": counters[field] = min(counters[field] ?? value, value)
            case "last_ms": counters[field] = max(counters[field] ?? value, value)
            default: counters[field, default: 0] += value
            }
        }
    }

    /// A run's statistics, merged over every writer (and every key set, see ``keySets(namespace:resultsStreams:)``).
    public static func load(
        run: String, namespace: String, resultsStreams: [String] = [], on connection: RedisConnection
    ) async throws(RedisError) -> RunStatistics {
        var counters: [String: Int] = [:]
        var workers: [String: [String: String]] = [:]
        var latency = StageHistograms()
        let meta = try await connection.send(RedisCommand("HGETALL", RunStatisticsKeys(namespace: namespace).meta(run: run))).stringPairs ?? [:]
        for keys in keySets(namespace: namespace, resultsStreams: resultsStreams) {
            let replies = try await connection.pipeline([RedisCommand("HGETALL", keys.run(run)), RedisCommand("SMEMBERS", keys.workers(run: run))])
            merge((try replies[0].get().stringPairs ?? [:]).compactMapValues { Int($0) }, into: &counters)
            let workerIds = (try replies[1].get().array ?? []).compactMap(\.string).sorted()
            var commands: [RedisCommand] = []
            for worker in workerIds {
                commands.append(RedisCommand("HGETALL", keys.worker(run: run, worker: worker)))
                commands.append(RedisCommand("HGETALL", keys.workerLatency(run: run, worker: worker)))
            }
            let workerReplies = try await connection.pipeline(commands)
            for (index, worker) in workerIds.enumerated() {
                // A worker reading several partitions has a hash under each: its counters add up.
                let fields = try workerReplies[index * 2].get().stringPairs ?? [:]
                var merged = workers[worker] ?? [:]
                var numbers = merged.compactMapValues { Int($0) }
                merge(fields.compactMapValues { Int($0) }, into: &numbers)
                for (field, value) in fields where Int(value) == nil { merged[field] = value }
                for (field, value) in numbers { merged[field] = String(value) }
                workers[worker] = merged
                var mine = StageHistograms()
                for (stage, encoded) in try workerReplies[index * 2 + 1].get().stringPairs ?? [:] {
                    mine.byStage[stage] = LatencyHistogram(encoded: encoded)
                }
                latency.add(mine)
            }
        }
        return RunStatistics(runId: run, counters: counters, workers: workers, latency: latency, meta: meta)
    }

    /// A run's counters alone (all writers).
    public static func counters(
        run: String, namespace: String, resultsStreams: [String] = [], on connection: RedisConnection
    ) async throws(RedisError) -> [String: Int] {
        var counters: [String: Int] = [:]
        for keys in keySets(namespace: namespace, resultsStreams: resultsStreams) {
            let reply = try await connection.send(RedisCommand("HGETALL", keys.run(run)))
            merge((reply.stringPairs ?? [:]).compactMapValues { Int($0) }, into: &counters)
        }
        return counters
    }

    /// Whether a run has statistics or generator metadata.
    public static func exists(
        run: String, namespace: String, resultsStreams: [String] = [], on connection: RedisConnection
    ) async throws(RedisError) -> Bool {
        for keys in keySets(namespace: namespace, resultsStreams: resultsStreams) {
            if try await connection.send(RedisCommand("EXISTS", keys.run(run))).int ?? 0 > 0 { return true }
        }
        return try await connection.send(RedisCommand("EXISTS", RunStatisticsKeys(namespace: namespace).meta(run: run))).int ?? 0 > 0
    }

    /// One line of the run list.
    public struct Summary: Sendable {
        /// The run id.
        public var run: String
        /// First result write, epoch milliseconds.
        public var firstMilliseconds: Int
        /// Transactions scored.
        public var processed: Int
        /// Transactions predicted fraudulent.
        public var predictedFraud: Int
    }

    /// The partition count a run's generator recorded in its metadata (`partitions`), or nil (a run without
    /// metadata: the scoring API's, an outside producer's, or one generated before the count was recorded).
    public static func recordedPartitionCount(
        run: String, namespace: String, on connection: RedisConnection
    ) async throws(RedisError) -> Int? {
        try await connection.send(RedisCommand("HGET", RunStatisticsKeys(namespace: namespace).meta(run: run), "partitions")).int
    }

    /// Runs found with `SCAN` (never `KEYS`), newest first by first result time. Besides the partitions of
    /// `resultsStreams`, the statistics of every partition a run's metadata records are added, so a run generated
    /// over more partitions than the reader names is listed whole.
    public static func runIds(
        namespace: String, resultsStreams: [String] = [], on connection: RedisConnection
    ) async throws(RedisError) -> [Summary] {
        var summaries: [String: Summary] = [:]
        var sets = keySets(namespace: namespace, resultsStreams: resultsStreams)
        var found: [String: [String]] = [:]
        let untagged = RunStatisticsKeys(namespace: namespace).base + ":run:"
        found[untagged] = try await Keyspace(namespace: namespace).keys(matching: "\(untagged)*", on: connection)
        let metaKeys = (found[untagged] ?? []).filter { $0.hasSuffix(":meta") }
        let counts = try await connection.pipeline(metaKeys.map { RedisCommand("HGET", $0, "partitions") }).compactMap { try? $0.get().int }
        let known = Set(sets.map(\.base))
        for index in 0..<(counts.max() ?? 0) {
            let keys = RunStatisticsKeys(namespace: namespace, tag: "p\(index)")
            if !known.contains(keys.base) { sets.append(keys) }
        }
        for keys in sets {
            let prefix = keys.base + ":run:"
            let matching: [String]
            if let cached = found[prefix] {
                matching = cached
            } else {
                matching = try await Keyspace(namespace: namespace).keys(matching: "\(prefix)*", on: connection)
            }
            let runs = Set(matching.compactMap { key -> String? in
                let rest = key.dropFirst(prefix.count)
                return rest.contains(":") ? nil : String(rest)
            }).sorted()
            let replies = try await connection.pipeline(runs.map { RedisCommand("HMGET", prefix + $0, "first_ms", "processed", "predicted_fraud") })
            for (run, reply) in zip(runs, replies) {
                let values = reply.array ?? []
                func value(_ index: Int) -> Int { index < values.count ? values[index].int ?? 0 : 0 }
                var summary = summaries[run] ?? Summary(run: run, firstMilliseconds: value(0), processed: 0, predictedFraud: 0)
                summary.firstMilliseconds = min(summary.firstMilliseconds, value(0))
                summary.processed += value(1)
                summary.predictedFraud += value(2)
                summaries[run] = summary
            }
        }
        return summaries.values.sorted { $0.firstMilliseconds > $1.firstMilliseconds }
    }

    /// A JSON-ready dictionary (the `--stats --json` schema).
    /// Average precision (PR AUC) of a model's scores on the run's labelled results, from the score histograms
    /// by label the write call keeps (`ps:<bucket>:<label>` for the champion, `pss:…` for the shadow; 100
    /// buckets, so scores within 0.01 tie); nil without labelled fraud.
    public func prAUC(shadow: Bool = false) -> Double? {
        let prefix = shadow ? "pss:" : "ps:"
        var positives = [Int](repeating: 0, count: 101), negatives = [Int](repeating: 0, count: 101)
        for (field, count) in counters where field.hasPrefix(prefix) {
            let parts = field.dropFirst(prefix.count).split(separator: ":")
            guard parts.count == 2, let bucket = Int(parts[0]), (0...100).contains(bucket) else { continue }
            if parts[1] == "1" { positives[bucket] += count } else { negatives[bucket] += count }
        }
        let total = positives.reduce(0, +)
        guard total > 0 else { return nil }
        var truePositives = 0, flagged = 0, area = 0.0
        for bucket in stride(from: 100, through: 0, by: -1) where positives[bucket] + negatives[bucket] > 0 {
            truePositives += positives[bucket]
            flagged += positives[bucket] + negatives[bucket]
            area += Double(positives[bucket]) / Double(total) * (Double(truePositives) / Double(flagged))
        }
        return area
    }

    /// The shadow (challenger) model's precision and recall on the same labelled results, next to the champion's.
    var shadowLine: String {
        let tp = counters["shadow_tp"] ?? 0, fp = counters["shadow_fp"] ?? 0, fn = counters["shadow_fn"] ?? 0, tn = counters["shadow_tn"] ?? 0
        guard tp + fp + fn + tn > 0 else { return "shadow      none (fraudstream models shadow N scores with a challenger too)" }
        func ratio(_ numerator: Int, _ denominator: Int) -> String {
            denominator == 0 ? "n/a" : String(format: "%.4f", Double(numerator) / Double(denominator))
        }
        return "shadow      \(tp + fp + fn + tn) labelled: precision \(ratio(tp, tp + fp)), recall \(ratio(tp, tp + fn)), "
            + "PR AUC \(prAUC(shadow: true).map { String(format: "%.4f", $0) } ?? "n/a") (champion \(prAUC().map { String(format: "%.4f", $0) } ?? "n/a")) "
            + "(tp \(tp) fp \(fp) tn \(tn) fn \(fn)); the champion above decided"
    }

    /// One rule's (reason code's) figures in a run.
    public struct RuleFigures: Sendable, Equatable {
        /// The reason code.
        public var reason: String
        /// Results it was among the reasons of.
        public var hits: Int
        /// Of those, results with a label.
        public var labelled: Int
        /// Of those, labelled fraud.
        public var fraud: Int
        /// Labelled fraud over labelled hits; nil without labelled hits.
        public var precision: Double? { labelled > 0 ? Double(fraud) / Double(labelled) : nil }
    }

    /// Every reason code's hits and precision, most hits first.
    public var rules: [RuleFigures] {
        counters.compactMap { field, hits -> RuleFigures? in
            guard field.hasPrefix("reason:") else { return nil }
            let reason = String(field.dropFirst("reason:".count))
            return RuleFigures(
                reason: reason, hits: hits, labelled: counters["reason_labelled:\(reason)"] ?? 0, fraud: counters["reason_fraud:\(reason)"] ?? 0)
        }.sorted { $0.hits != $1.hits ? $0.hits > $1.hits : $0.reason < $1.reason }
    }

    public var jsonObject: [String: Any] {
        var stages: [String: Any] = [:]
        for stage in StageHistograms.stages {
            let histogram = latency[stage]
            stages[stage] = [
                "count": Int(histogram.count), "avg_ms": histogram.mean / 1000, "p50_ms": histogram.percentile(50) / 1000,
                "p95_ms": histogram.percentile(95) / 1000, "p99_ms": histogram.percentile(99) / 1000,
                "p999_ms": histogram.percentile(99.9) / 1000, "min_ms": histogram.minimum / 1000, "max_ms": histogram.maximum / 1000,
            ]
        }
        return [
            "run_id": runId, "transactions": processed, "fraud_detected": counters["predicted_fraud"] ?? 0,
            "dead_letters": counters["dead_letters"] ?? 0, "labelled": counters["labelled"] ?? 0,
            "confusion": ["tp": counters["tp"] ?? 0, "fp": counters["fp"] ?? 0, "tn": counters["tn"] ?? 0, "fn": counters["fn"] ?? 0],
            "precision": precision, "recall": recall, "throughput_per_second": throughput,
            "decisions": ["approve": counters["approve"] ?? 0, "review": counters["review"] ?? 0, "decline": counters["decline"] ?? 0],
            "latency": stages, "workers": workers.mapValues { $0["settings"] ?? "" },
            "start_ms": counters["first_ms"] ?? 0, "end_ms": counters["last_ms"] ?? 0,
            "pattern": meta["pattern"] ?? "", "target_tps": Double(meta["target_tps"] ?? "") ?? 0,
            "generated": Int(meta["sent"] ?? "") ?? 0,
            "pr_auc": prAUC() as Any, "shadow_pr_auc": prAUC(shadow: true) as Any,
            "shadow_confusion": [
                "tp": counters["shadow_tp"] ?? 0, "fp": counters["shadow_fp"] ?? 0, "tn": counters["shadow_tn"] ?? 0,
                "fn": counters["shadow_fn"] ?? 0,
            ],
            "rules": Dictionary(uniqueKeysWithValues: rules.map { rule in
                (rule.reason, ["hits": rule.hits, "labelled": rule.labelled, "fraud": rule.fraud, "precision": rule.precision as Any] as [String: Any])
            }),
        ]
    }

    /// The human-readable report.
    public var report: String {
        func ms(_ micros: Double) -> String { String(format: "%.3f", micros / 1000) }
        /// Right-aligned in `width` columns (`%8@` does not pad on Linux).
        func column(_ text: String, _ width: Int) -> String { text.leftPadded(width, with: " ") }
        /// A ratio, or `n/a` when its denominator is 0 (no predicted positives, no labelled fraud).
        func ratio(_ numerator: Int, _ denominator: Int) -> String {
            denominator == 0 ? "n/a" : String(format: "%.4f", Double(numerator) / Double(denominator))
        }
        let tp = counters["tp"] ?? 0, fp = counters["fp"] ?? 0, fn = counters["fn"] ?? 0
        var lines = [
            "run         \(runId)",
            "scored      \(processed) transactions, \(counters["dead_letters"] ?? 0) dead-lettered"
                + (meta["sent"].map { ", \($0) generated" } ?? ""),
            "fraud       \(counters["predicted_fraud"] ?? 0) detected; decisions approve \(counters["approve"] ?? 0), "
                + "review \(counters["review"] ?? 0), decline \(counters["decline"] ?? 0)",
            "labels      \(counters["labelled"] ?? 0) labelled: precision \(ratio(tp, tp + fp)), recall \(ratio(tp, tp + fn)), "
                + "PR AUC \(prAUC().map { String(format: "%.4f", $0) } ?? "n/a") "
                + "(tp \(tp) fp \(fp) tn \(counters["tn"] ?? 0) fn \(fn))",
            shadowLine,
            String(format: "throughput  %.0f results/s", throughput)
                + (meta["target_tps"].map { ", generator target \($0)/s (\(meta["pattern"] ?? "?"))" } ?? ""),
            "",
        ]
        let headers = ["count", "avg", "p50", "p95", "p99", "p99.9", "min", "max"]
        let rows = StageHistograms.stages.map { stage -> [String] in
            let h = latency[stage]
            return ["\(h.count)", ms(h.mean), ms(h.percentile(50)), ms(h.percentile(95)), ms(h.percentile(99)),
                    ms(h.percentile(99.9)), ms(h.minimum), ms(h.maximum)]
        }
        // One width for every column, wide enough for the widest cell, so values stay under their headers.
        let width = max(8, (rows.flatMap { $0 } + headers).map(\.count).max() ?? 8)
        lines.append("latency ms  " + headers.map { column($0, width) }.joined(separator: " "))
        for (stage, cells) in zip(StageHistograms.stages, rows) {
            lines.append(stage.padding(toLength: 12, withPad: " ", startingAt: 0) + cells.map { column($0, width) }.joined(separator: " "))
        }
        lines.append("")
        let scenarios = counters.keys.filter { $0.hasPrefix("scenario:") }.map { String($0.dropFirst("scenario:".count)) }.sorted()
        if !scenarios.isEmpty {
            lines.append("scenarios   labelled fraud, recall declined, recall declined or reviewed")
            for scenario in scenarios {
                let fraud = counters["scenario:\(scenario)"] ?? 0
                lines.append("  " + scenario.padding(toLength: 28, withPad: " ", startingAt: 0) + column("\(fraud)", 8)
                    + "  " + ratio(counters["scenario_declined:\(scenario)"] ?? 0, fraud) + "  " + ratio(counters["scenario_flagged:\(scenario)"] ?? 0, fraud))
            }
            lines.append("")
        }
        if !rules.isEmpty {
            lines.append("rules       hits, and precision on labelled hits (fraud / labelled)")
            for rule in rules {
                lines.append("  " + rule.reason.padding(toLength: 28, withPad: " ", startingAt: 0) + column("\(rule.hits)", 8)
                    + "  precision " + ratio(rule.fraud, rule.labelled) + " (\(rule.fraud) of \(rule.labelled))")
            }
            lines.append("")
        }
        for (worker, fields) in workers.sorted(by: { $0.key < $1.key }) {
            lines.append("worker      \(worker): \(fields["processed"] ?? "0") scored; \(fields["settings"] ?? "")")
        }
        func date(_ milliseconds: Int?) -> String {
            guard let milliseconds, milliseconds > 0 else { return "-" }
            return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        }
        lines.append("window      \(date(counters["first_ms"])) → \(date(counters["last_ms"]))")
        return lines.joined(separator: "\n")
    }
}
