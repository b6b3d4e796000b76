import ArgumentParser
import FraudArchive
import FraudCore
import FraudServer
import Foundation
import Logging
import RedisClient
import ServiceLifecycle

/// `fraudstream archive`: every decision into PostgreSQL, and the queries on it.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Keep every decision in PostgreSQL for years, and query it: run, show, search, export.",
        discussion: """
            `archive run` follows every results stream with the consumer group `archive` and writes each decision to \
            PostgreSQL (POSTGRES_URL), acknowledging a batch only after its commit; it also copies the audit log and \
            the labels. While it lags, the workers' trim keeps what it has not archived, up to --hold-max-entries.
            """,
        subcommands: [Run.self, Show.self, Search.self, Export.self]
    )

    /// `--postgres-url`, `--postgres-ca`.
    struct PostgresOptions: ParsableArguments {
        @Option(help: "The archive database: postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-ca|verify-full] [POSTGRES_URL].")
        var postgresUrl: String?
        @Option(help: "The CA file (PEM) that signed PostgreSQL's certificate, for sslmode=verify-ca or verify-full [POSTGRES_CA].")
        var postgresCa: String?

        var flags: [Setting: String?] { [PostgresSettings.url: postgresUrl, PostgresSettings.ca: postgresCa] }

        func resolved(_ settings: SettingsResolver) throws -> PostgresSettings {
            guard let resolved = try PostgresSettings.resolve(settings) else {
                throw FraudError(.invalidSetting, "the archive needs PostgreSQL: --postgres-url or POSTGRES_URL (make postgres prints one)")
            }
            return resolved
        }
    }

    /// Runs `body` with an open store and closes it afterwards, whether `body` returned or threw.
    static func withStore<T>(
        _ postgres: PostgresOptions, _ settings: SettingsResolver, logger: Logger, _ body: (ArchiveStore) async throws -> T
    ) async throws -> T {
        try await ArchiveStore.withOpen(try postgres.resolved(settings), logger: logger, body)
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archive decisions, audit entries and labels until stopped (SIGTERM/SIGINT).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @OptionGroup var postgres: PostgresOptions
        @Option(parsing: .unconditional, help: "Partitions of the results, as the workers use them [PARTITIONS] (default 1).") var partitions: Int?
        @Option(help: "This archiver's consumer name in the group `archive`; several archivers with different names share the work (default archiver).") var consumerName = "archiver"
        @Option(help: "Entries another archiver read and left unacknowledged this long, ms, are taken over (default 60000).") var claimIdleMs = 60_000
        @Option(help: "Entries per read and per PostgreSQL statement (default 1000).") var batchSize = 1_000
        @Option(help: "Daily partitions older than this many days are dropped, and logged (default 730).") var retentionDays = 730
        @Option(help: "While the archive lags, each results stream is kept up to this many entries (default 2000000); past it the oldest go, archived or not, with a critical log line.") var holdMaxEntries = 2_000_000
        @Option(help: "Serve Prometheus metrics (fraudstream_archive_lag_entries, fraudstream_archive_rows_total) on this port.") var metricsPort: Int?
        @Option(help: "Log level: trace, debug, info, notice, warning, error, critical [LOG_LEVEL] (default info).") var logLevel: String?

        func validate() throws {
            if !(1...10_000).contains(batchSize) { throw ValidationError("--batch-size must be 1 to 10000") }
            if !(1...36_500).contains(retentionDays) { throw ValidationError("--retention-days must be 1 to 36500") }
            if holdMaxEntries < 1_000 { throw ValidationError("--hold-max-entries must be at least 1000") }
            if consumerName.isEmpty { throw ValidationError("--consumer-name must not be empty") }
            if !(1_000...86_400_000).contains(claimIdleMs) { throw ValidationError("--claim-idle-ms must be 1000 to 86400000") }
        }

        func run() async throws {
            let settings = SettingsResolver.command(
                connection.flags, namespace.flags, postgres.flags, [Settings.partitions: partitions.map(String.init), Settings.logLevel: logLevel])
            _ = try settings.integer(Settings.partitions, in: 1...1_024)
            try bootstrapLogging(settings)
            let logger = Logger(label: "fraudstream.archive")
            try await ArchiveCommand.withStore(postgres, settings, logger: logger) { store in
                // The side copies (audit, reviews, labels) on a connection of their own: their transactions never enclose
                // a batch of decisions.
                try await ArchiveCommand.withStore(postgres, settings, logger: logger) { sideStore in
                    try await archive(settings, store: store, sideStore: sideStore, logger: logger)
                }
            }
        }

        private func archive(_ settings: SettingsResolver, store: ArchiveStore, sideStore: ArchiveStore, logger: Logger) async throws {
            let redisConfiguration = try connection.configuration(settings, name: "fraudstream-archive")
            let redis = try await RedisConnection.connect(redisConfiguration)
            let streams = await settings.streams(on: redis)
            var configuration = ArchiveConfiguration()
            configuration.namespace = streams.namespace
            configuration.resultsStreams = streams.partitions.map(\.results)
            configuration.consumer = consumerName
            configuration.batchSize = batchSize
            configuration.retentionDays = retentionDays
            configuration.holdMaxEntries = holdMaxEntries
            configuration.claimIdleMilliseconds = claimIdleMs
            let metrics = FraudMetrics()
            var services: [any Service] = [
                Archiver(
                    configuration: configuration, redis: redis, redisConfiguration: redisConfiguration, store: store, sideStore: sideStore,
                    metrics: metrics, logger: logger),
            ]
            if let metricsPort { services.append(MetricsEndpoint(metrics: metrics, host: "127.0.0.1", port: metricsPort, logger: logger)) }
            logger.info("archiving", metadata: [
                "streams": "\(configuration.resultsStreams.joined(separator: ","))", "postgres": "\(store.settings)",
                "retention_days": "\(retentionDays)",
            ])
            let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One transaction's archived decision, with its label and the audit entries that name it.")
        @OptionGroup var postgres: PostgresOptions
        @Argument(help: "The transaction id.") var transactionId: String
        @Option(help: "Only decisions from this time (ISO 8601): PostgreSQL then reads only those days' partitions.") var from: String?
        @Option(help: "Only decisions up to this time, exclusive.") var to: String?
        @Flag(help: "JSON instead of lines.") var json = false

        func run() async throws {
            let settings = SettingsResolver.command(postgres.flags)
            let from = try self.from.map { try FilterOptions.date($0, "--from") }
            let to = try self.to.map { try FilterOptions.date($0, "--to") }
            let found = try await ArchiveCommand.withStore(postgres, settings, logger: Logger(label: "fraudstream.archive")) { store in
                try await store.show(transactionId, from: from, to: to)
            }
            guard !found.decisions.isEmpty else { throw FraudError(.notFound, "no archived decision for '\(transactionId)'") }
            if json {
                var object: [String: Any] = ["decisions": found.decisions, "audit": found.audit, "reviews": found.reviews]
                if let label = found.label { object["label"] = label }
                printJSON(object)
                return
            }
            for decision in found.decisions {
                for key in decision.keys.sorted() where key != "entry" { print("\(key): \(decision[key] ?? "")") }
                if let entry = decision["entry"], let data = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) {
                    print("entry: \(String(decoding: data, as: UTF8.self))")
                }
            }
            if let label = found.label { print("label: \((label["is_fraud"] as? Bool) == true ? "fraud" : "legit")") }
            for review in found.reviews {
                print("review: queued \(review["queued_at"] ?? "") with \((review["features"] as? [Any])?.count ?? 0) features")
            }
            for entry in found.audit { print("audit: \(entry["at"] ?? "") \(entry["actor"] ?? "") \(entry["action"] ?? "") \(entry["change"] ?? "")") }
        }
    }

    /// `--user`, `--from`, `--to`, `--decision`, `--reason`, `--model-version`.
    struct FilterOptions: ParsableArguments {
        @Option(help: "Only this user's decisions (as stored: pseudonymized when that is on).") var user: String?
        @Option(help: "From this time (ISO 8601, 2026-12-01 or 2026-12-01T10:00:00Z), inclusive.") var from: String?
        @Option(help: "Up to this time, exclusive.") var to: String?
        @Option(help: "Only this decision: approve, review or decline.") var decision: String?
        @Option(help: "Only decisions with this reason code.") var reason: String?
        @Option(help: "Only decisions by this model version.") var modelVersion: Int?

        static func date(_ text: String, _ flag: String) throws -> Date {
            let full = ISO8601DateFormatter()
            if let date = full.date(from: text) { return date }
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            if let date = day.date(from: text) { return date }
            throw ValidationError("\(flag) must be an ISO 8601 date or date-time (2026-12-01, 2026-12-01T10:00:00Z), not '\(text)'")
        }

        func filter() throws -> ArchiveStore.Filter {
            var filter = ArchiveStore.Filter()
            filter.user = user
            filter.from = try from.map { try Self.date($0, "--from") }
            filter.to = try to.map { try Self.date($0, "--to") }
            if let decision, !["approve", "review", "decline"].contains(decision) {
                throw ValidationError("--decision must be approve, review or decline, not '\(decision)'")
            }
            filter.decision = decision
            filter.reason = reason
            filter.modelVersion = modelVersion
            return filter
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Archived decisions matching filters, newest first.")
        @OptionGroup var postgres: PostgresOptions
        @OptionGroup var filters: FilterOptions
        @Option(help: "At most this many (default 100).") var limit = 100
        @Flag(help: "JSON instead of lines.") var json = false

        func run() async throws {
            var filter = try filters.filter()
            filter.limit = limit
            let rows = try await ArchiveCommand.withStore(postgres, SettingsResolver.command(postgres.flags), logger: Logger(label: "fraudstream.archive")) {
                store in try await store.search(filter)
            }
            if json {
                printJSON(rows)
                return
            }
            if rows.isEmpty { print("no archived decision matches") }
            for row in rows {
                let reasons = (row["reasons"] as? [String])?.joined(separator: ",") ?? ""
                print("\(row["decided_at"] ?? "")  \(row["transaction_id"] ?? "")  \(row["user_id"] ?? "")  \(row["decision"] ?? "")  score \(row["score"] ?? "")  \(reasons)  model v\(row["model_version"] ?? "")")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archived decisions as CSV (a header, then one row each, oldest first, with the label when known), for retraining.")
        @OptionGroup var postgres: PostgresOptions
        @OptionGroup var filters: FilterOptions
        @Option(help: "Format: csv (RFC 4180, UTF-8, one header row: what Parquet converters read as it is).") var format = "csv"
        @Option(help: "Write to this file instead of standard output.") var output: String?

        func validate() throws {
            if format != "csv" { throw ValidationError("--format must be csv") }
        }

        func run() async throws {
            let filter = try filters.filter()
            try await ArchiveCommand.withStore(postgres, SettingsResolver.command(postgres.flags), logger: Logger(label: "fraudstream.archive")) { store in
                try await export(filter, from: store)
            }
        }

        private func export(_ filter: ArchiveStore.Filter, from store: ArchiveStore) async throws {
            let handle: FileHandle
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: nil) , let file = FileHandle(forWritingAtPath: output) else {
                    throw FraudError(.invalidSetting, "cannot write \(output)")
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            var buffer = ""
            let count = try await store.export(filter) { line in
                buffer += line
                if buffer.utf8.count > 1 << 16 {
                    handle.write(Data(buffer.utf8))
                    buffer = ""
                }
            }
            handle.write(Data(buffer.utf8))
            if output != nil { FileHandle.standardError.write(Data("exported \(count) decisions to \(output ?? "")\n".utf8)) }
        }
    }
}
