import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream rules`: decision rules as data, versioned in Redis; promotion reaches running workers and
/// servers between batches.
struct RulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, show, add, remove, validate, import and promote decision rule sets stored in Redis.",
        discussion: """
            A rule: <condition> => decline | review | approve | score +x reason <code>, e.g. \
            amount > 2000 and distance_from_home_km > 500 and new_device => review reason far_new_device_high_amount. \
            Rules may read the promoted feature set's features by name (fraudstream features). \
            A rule file has one rule per line; # starts a comment. With no version promoted, the built-in rules \
            (version 0, `rules show 0`) decide. add, remove and import store a new version and promote it unless \
            --no-promote; import keeps the built-in rules and adds the file's unless --replace. Running workers and \
            servers switch to a promoted version between batches.
            """,
        subcommands: [List.self, Show.self, Add.self, Remove.self, Validate.self, Import.self, Promote.self],
        defaultSubcommand: List.self
    )

    static func withStore<T>(
        _ connection: ConnectionOptions, _ namespace: NamespaceOptions, _ body: (RuleStore, RedisConnection) async throws -> T
    ) async throws -> T {
        let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-rules"))
        return try await body(RuleStore(namespace: namespace.resolved), redis)
    }

    /// Stores `text` as a new version and says so.
    static func store(
        _ text: String, note: String, promote: Bool, store: RuleStore, redis: RedisConnection
    ) async throws {
        let set: RuleSet
        do {
            set = try RuleSet(parsing: text, features: try await FeatureSetStore(namespace: store.namespace).promotedNames(on: redis))
        } catch let error as FraudError {
            throw error
        } catch {
            throw FraudError(.invalidData, "\(error)")
        }
        try await save(text, note: note, promote: promote, store: store, redis: redis) { version, promoted in
            "stored rule set version \(version) (\(set.rules.count) rules)\(promoted ? ", promoted" : ""): \(note)"
        }
    }

    /// Saves `text` as a new version, promoted when asked unless maker-checker requires another principal (then its
    /// promotion is proposed, after the line `describe` gives for the version and whether it was promoted).
    static func save(
        _ text: String, note: String, promote: Bool, store: RuleStore, redis: RedisConnection, describe: (Int, Bool) -> String
    ) async throws {
        let approvals = ApprovalStore(namespace: store.namespace)
        let needsApproval = promote ? try await approvals.isRequired(.rulesPromote, on: redis) : false
        let version = try await store.save(text, note: note, promote: promote && !needsApproval, on: redis)
        print(describe(version, promote && !needsApproval))
        if needsApproval {
            try await ApprovalsCommand.propose(.rulesPromote, target: String(version), approvals: approvals, redis: redis)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List rule set versions; * marks the one deciding.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions

        func run() async throws {
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                let latest = try await store.latestVersion(on: redis) ?? 0
                print("\(latest == 0 ? "* " : "  ")v0  built-in  \(RuleSet.standard.rules.count) rules")
                for number in try await store.versions(on: redis) {
                    let mark = number == latest ? "* " : "  "
                    do {
                        let version = try await store.load(number, on: redis)
                        let created = Date(timeIntervalSince1970: Double(version.createdMilliseconds) / 1000)
                        print("\(mark)v\(number)  \(created)  \(version.ruleSet.rules.count) rules  \(version.note)")
                    } catch {
                        print("\(mark)v\(number)  unusable: \(error)")
                    }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a version as a rule file (default: the one deciding).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number (0: the built-in rules).") var version: Int?

        func run() async throws {
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                let shown = version == 0 ? RuleStore.Version.builtIn : try await store.load(version, on: redis)
                print("# rule set version \(shown.version): \(shown.note)")
                print(shown.ruleSet.text, terminator: shown.ruleSet.text.hasSuffix("\n") ? "" : "\n")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new version: the deciding rules plus one.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The rule, quoted.") var rule: String
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                // The rule may read the promoted feature set's features too.
                do {
                    _ = try Rule.parse(rule, features: try await FeatureSetStore(namespace: store.namespace).promotedNames(on: redis))
                } catch let problem as RuleLanguage.Problem {
                    throw FraudError(.invalidData, "\(problem)")
                }
                let current = try await store.load(on: redis)
                let text = current.ruleSet.text + (current.ruleSet.text.hasSuffix("\n") || current.ruleSet.text.isEmpty ? "" : "\n") + rule + "\n"
                try await RulesCommand.store(text, note: "v\(current.version) + \(rule)", promote: promote, store: store, redis: redis)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a new version: the deciding rules without those of a reason code.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The reason code whose rules go.") var reason: String
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                let current = try await store.load(on: redis)
                let lines = RuleSet.lines(current.ruleSet.text)
                let kept = lines.filter { line in
                    let code = RuleSet.withoutComment(line)
                    guard let rule = try? Rule.parse(code, features: current.ruleSet.features) else { return true }
                    return rule.reason != reason
                }
                guard kept.count < lines.count else {
                    throw FraudError(.notFound, "no rule with reason '\(reason)' in rule set version \(current.version)")
                }
                try await RulesCommand.store(
                    kept.joined(separator: "\n"), note: "v\(current.version) - \(reason)", promote: promote, store: store, redis: redis)
            }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a rule file: every line parses and type-checks (exit 65 with the line and column otherwise).")
        @Argument(help: "The rule file.") var file: String
        @Option(help: "A feature definitions file whose features the rules may read (as when its set is promoted).") var features: String?

        func run() throws {
            let text = try RulesCommand.read(file)
            let names = try features.map { try FeatureSetStore.parse(try RulesCommand.read($0)).names } ?? []
            do {
                let set = try RuleSet(parsing: text, features: names)
                print("\(file): \(set.rules.count) rule\(set.rules.count == 1 ? "" : "s"), valid")
            } catch {
                throw FraudError(.invalidData, "\(file): \(error)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store the built-in rules plus a rule file's as a new version (--replace: the file's rules alone).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The rule file.") var file: String
        @Flag(help: "Store the file's rules alone, without the built-in rules.") var replace = false
        @Flag(inversion: .prefixedNo, help: "Promote the new version.") var promote = true

        func run() async throws {
            let text = try RulesCommand.read(file)
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                let imported: RuleSet.Import
                do {
                    imported = try RuleSet.importing(
                        text, replace: replace, features: try await FeatureSetStore(namespace: store.namespace).promotedNames(on: redis))
                } catch let problem as RuleSet.FileProblem {
                    throw FraudError(.invalidData, "\(file): \(problem)")
                }
                let what = replace
                    ? "replaced: \(imported.fileRules) rule\(imported.fileRules == 1 ? "" : "s") from \(file)"
                    : "\(imported.builtInRules) built-in rules + \(imported.fileRules) from \(file)"
                        + (imported.alreadyBuiltIn == 0 ? "" : " (the file's \(imported.alreadyBuiltIn) other rule\(imported.alreadyBuiltIn == 1 ? " is" : "s are") "
                            + "built in already: stored once)")
                try await RulesCommand.save(
                    imported.text, note: replace ? "import \(file) --replace" : "built-in + import \(file)", promote: promote, store: store, redis: redis
                ) { version, promoted in
                    "stored rule set version \(version): \(what)\(promoted ? ", promoted" : promote ? " (promotion proposed for approval)" : " (not promoted)")"
                }
            }
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a version the one deciding; running workers and servers switch between batches.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number.") var version: Int

        func run() async throws {
            try await RulesCommand.withStore(connection, namespace) { store, redis in
                _ = try await store.load(version, on: redis)  // refuse a version this build cannot compile
                let approvals = ApprovalStore(namespace: store.namespace)
                if try await approvals.isRequired(.rulesPromote, on: redis) {
                    try await ApprovalsCommand.propose(.rulesPromote, target: String(version), approvals: approvals, redis: redis)
                    return
                }
                try await store.promote(version, on: redis)
                print("promoted rule set version \(version)")
            }
        }
    }

    static func read(_ file: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw FraudError(.invalidSetting, "cannot read \(file)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
