import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream features`: features fraud teams define as data, versioned in Redis like rule sets; promotion reaches
/// running workers and servers between batches.
struct FeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "List, show, add, remove, validate, import, promote and backfill the feature sets fraud teams define.",
        discussion: """
            A definition: <name> = <aggregation> by <entity> [over <window>] [where <condition>], e.g. \
            device_cards_1h = distinct(user_id) by device_id over 1h, or ip_spend_10m = sum(amount) by ip over 10m. \
            Aggregations: count(), sum(f), avg(f), min(f), max(f) (f: amount, lat, lon or a built-in feature), \
            distinct(f) (a text field), age(), since_last(), ratio(a [where …], b [where …]) of two counts or sums. \
            Entities: a contract text field (user_id, merchant_id, device_id, ip, card_provider, merchant_category), \
            an extra field the producer sends, or prefix(field, n). Windows: 1s to 30d (s, m, h, d); age and since_last \
            take none. Conditions are the rule language's, without score. With no version promoted, the built-in \
            features alone are computed (version 0; show 0 prints their definitions). add, remove and import store a new version and promote it unless \
            --no-promote. Promotion is refused when the served or shadow model, or the promoted rules, read a feature \
            the new set drops. Running workers and servers switch between batches; rules, ?explain=true, \
            export-features and backtest see the set's features by name. backfill replays the world's history into a \
            set's state so a new feature is meaningful at once.
            """,
        subcommands: [List.self, Show.self, Add.self, Remove.self, Validate.self, Import.self, Promote.self, Backfill.self],
        defaultSubcommand: List.self
    )

    static func withStore<T>(
        _ connection: ConnectionOptions, _ namespace: NamespaceOptions, _ body: (FeatureSetStore, RedisConnection) async throws -> T
    ) async throws -> T {
        let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-features"))
        return try await body(FeatureSetStore(namespace: namespace.resolved), redis)
    }

    /// Stores `text` as a new version and says so; promotes it when asked (under maker-checker, proposes it).
    static func store(_ text: String, note: String, promote: Bool, store: FeatureSetStore, redis: RedisConnection) async throws {
        let set = try FeatureSetStore.parse(text)
        let version = try await store.save(set.text, note: note, promote: false, on: redis)
        print("stored feature set version \(version) (\(set.definitions.count) features): \(note)")
        if promote { try await Self.promote(version, store: store, redis: redis) }
    }

    /// Promotes `version` after the readers' checks, or proposes it when `features.promote` needs a second principal.
    static func promote(_ version: Int, store: FeatureSetStore, redis: RedisConnection) async throws {
        let approvals = ApprovalStore(namespace: store.namespace)
        if try await approvals.isRequired(.featuresPromote, on: redis) {
            try await store.checkReaders(of: try await store.load(version, on: redis), on: redis)
            try await ApprovalsCommand.propose(.featuresPromote, target: String(version), approvals: approvals, redis: redis)
            return
        }
        try await store.promote(version, on: redis)
        print("promoted feature set version \(version)")
    }

    /// `name: count(amount) where … by ip over 10m`.
    static func describe(_ definition: FeatureDefinition) -> String {
        let measures = definition.measures.map { measure in
            "\(measure.kind.rawValue)(\(measure.field ?? ""))" + (measure.filter.map { " where \($0)" } ?? "")
        }.joined(separator: " / ")
        let window = definition.windowMilliseconds.map { " over \(BuiltInFeatures.windowText($0))" } ?? ""
        return "\(definition.name): \(definition.kind == .ratio ? "ratio of " : "")\(measures) by \(definition.entity)\(window)"
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List feature set versions; * marks the one computed.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions

        func run() async throws {
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                let latest = try await store.latestVersion(on: redis) ?? 0
                let kernels = BuiltInFeatures.definitions(settings: try FeatureSettings.resolve(SettingsResolver.command(connection.flags, namespace.flags)))
                print("\(latest == 0 ? "* " : "  ")v0  built-in  \(FeatureSchema.count) built-in features only (\(kernels.count) of them definitions the fused kernels compute)")
                for number in try await store.versions(on: redis) {
                    let mark = number == latest ? "* " : "  "
                    do {
                        let version = try await store.load(number, on: redis)
                        let created = Date(timeIntervalSince1970: Double(version.createdMilliseconds) / 1000)
                        print("\(mark)v\(number)  \(created)  \(version.set.definitions.count) features  \(version.note)")
                    } catch {
                        print("\(mark)v\(number)  unusable: \(error)")
                    }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a version as a definitions file (default: the one computed).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number (0: the built-in features only).") var version: Int?

        func run() async throws {
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                let shown = try await store.load(version, on: redis)
                let settings = try FeatureSettings.resolve(SettingsResolver.command(connection.flags, namespace.flags))
                print("# feature set version \(shown.version): \(shown.note)")
                // Version 0 as comments: every version has the built-in features, and the output imports as it is.
                for line in BuiltInFeatures.text(settings: settings).split(whereSeparator: \.isNewline) {
                    print(line.hasPrefix("#") ? line : "#   " + line)
                }
                if !shown.set.definitions.isEmpty { print("# Version \(shown.version)'s features:") }
                print(shown.set.text, terminator: "")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new version: the computed set plus one definition.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The definition, quoted: 'ip_spend_10m = sum(amount) by ip over 10m'.") var definition: String
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            let added = try FeatureSetStore.parse(definition)
            guard added.definitions.count == 1 else { throw FraudError(.invalidData, "add takes one definition; use import for a file") }
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                let current = try await store.load(on: redis)
                try await FeaturesCommand.store(
                    current.set.text + added.text, note: "v\(current.version) + \(added.definitions[0].name)", promote: promote, store: store,
                    redis: redis)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new version: the computed set without one feature.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The feature's name.") var name: String
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                let current = try await store.load(on: redis)
                let kept = current.set.definitions.filter { $0.name != name }
                guard kept.count < current.set.definitions.count else {
                    throw FraudError(.notFound, "no feature '\(name)' in feature set version \(current.version)")
                }
                try await FeaturesCommand.store(
                    FeatureSet(definitions: kept).text, note: "v\(current.version) - \(name)", promote: promote, store: store, redis: redis)
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a file of feature definitions, one per line (exit 65 with the line and column otherwise).",
            discussion: "Blank lines and # comments are skipped. Prints one line per definition.")
        @Argument(help: "The definitions file.") var file: String

        func run() throws {
            let set = try FeaturesCommand.read(file)
            for definition in set.definitions { print(FeaturesCommand.describe(definition)) }
            print("\(set.definitions.count) feature definitions are valid")
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a definitions file as a new version (the file's features replace the set's).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The definitions file.") var file: String
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            let set = try FeaturesCommand.read(file)
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                try await FeaturesCommand.store(set.text, note: "import \(file)", promote: promote, store: store, redis: redis)
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a version the one computed; running workers and servers switch between batches.",
            discussion: "Refused, naming the reader's version, when the served or shadow model or the promoted rules read a feature it drops.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number (0: the built-in features only).") var version: Int

        func run() async throws {
            try await FeaturesCommand.withStore(connection, namespace) { store, redis in
                try await FeaturesCommand.promote(version, store: store, redis: redis)
            }
        }
    }

    struct Backfill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay the world's history into a feature set's state, so its features are meaningful at once.",
            discussion: """
                The built-in features each definition's filters read are computed in a scratch namespace \
                (<namespace>:backfill:<pid>, deleted afterwards); the set's calls then fold the history into the \
                namespace's own entity state, in event-time order. An event a worker already recorded gains the \
                values it lacks and is never counted twice, so a backfill can be repeated. Use the world prepare \
                loaded (the same --users, --days, --seed or --world).
                """)
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @OptionGroup var world: WorldOptions
        @OptionGroup var pseudonyms: PseudonymOptions
        @Argument(help: "Version number (default: the promoted one).") var version: Int?

        func run() async throws {
            let clock = ContinuousClock()
            let started = clock.now
            let resolver = SettingsResolver.command(connection.flags, namespace.flags)
            let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-features"))
            let base = StreamNames.namespace(resolving: resolver)
            let store = FeatureSetStore(namespace: base)
            let loaded = try await store.load(version, on: redis)
            guard !loaded.set.definitions.isEmpty else {
                throw FraudError(.invalidSetting, "feature set version \(loaded.version) defines no features: nothing to backfill")
            }
            let synthetic = try pseudonyms.resolved().map { $0.apply(try world.load()) } ?? world.load()
            try await world.warnIfUnlikePrepared(
                synthetic, namespace: base, doing: "backfilling", purpose: "backfill the history the namespace served", on: redis)
            try await FunctionLibrary.features.load(on: redis)
            let settings = try FeatureSettings.resolve(resolver)
            let rows = try await ScratchReplay(namespace: "\(base):backfill:\(getpid())").rows(
                of: synthetic, settings: settings, on: redis,
                progress: ReplayProgress.printer(total: synthetic.history.count))
            // What the built-in kernels serve needs no backfill: their state is the built-in features'.
            let entities = EntityFeatures(loaded.set, namespace: base, kernel: BuiltInFeatures.Kernel(settings: settings))
            var calls = 0
            var start = 0
            while start < synthetic.history.count {
                let stop = min(synthetic.history.count, start + 1_000)
                var commands: [RedisCommand] = []
                for index in start..<stop {
                    let transaction = synthetic.history[index]
                    commands += entities.commands(transaction, vector: rows[index], extra: transaction.extra).map(\.command)
                }
                for reply in try await redis.pipeline(commands) { _ = try reply.get() }
                calls += commands.count
                start = stop
            }
            try await AuditLog(namespace: base).append(
                AuditLog.Entry(
                    actor: AuditLog.commandLineActor, action: "features.backfill", target: "v\(loaded.version)",
                    change: "\(synthetic.history.count) transactions of world \(world.describe(synthetic)) folded into \(loaded.set.names.joined(separator: ", "))"),
                key: FeatureSetStore(namespace: base).latestKey, on: redis)
            printLine("backfilled feature set v\(loaded.version) (\(loaded.set.names.joined(separator: ", "))): \(synthetic.history.count) transactions, "
                + "\(calls) entity calls (\(elapsedText(clock.now - started)))")
        }
    }

    static func read(_ file: String) throws -> FeatureSet {
        guard let data = FileManager.default.contents(atPath: file) else { throw FraudError(.invalidSetting, "cannot read \(file)") }
        do {
            return try FeatureSet.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw FraudError(.invalidData, "\(file): \(error)")
        }
    }
}
