import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream backtest`: what a rule set and a model would have decided on the world's labelled history, before
/// anything is promoted.
struct BacktestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay the labelled history through the serving feature path and report what a rule set and a model would have decided.",
        discussion: """
            Like export-features, the world's history is replayed in a scratch namespace (<namespace>:backtest:<pid>, \
            deleted afterwards; serving state is untouched). The last --evaluate-fraction of event time (default 0.2, \
            the part prepare holds out from training) is decided with the model and the rules, and the report gives \
            precision and recall overall and per fraud scenario, and each rule's hits and precision. The same world \
            seed gives the same figures.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var world: WorldOptions
    @OptionGroup var pseudonyms: PseudonymOptions

    @Option(help: "Rule set version (0: the built-in rules; default: the promoted one).") var rules: Int?
    @Option(help: "Model version (default: the promoted one).") var model: Int?
    @Option(help: "Feature set version the rules may read (0: the built-in features only; default: the promoted one).") var featureSet: Int?
    @Option(help: "Decline threshold.") var threshold: Double = 0.7
    @Option(help: "Review threshold.") var reviewThreshold: Double = 0.3
    @Option(help: "The share of event time, at the end, that is decided (1: all of it).") var evaluateFraction: Double = 0.2
    @Flag(help: "Machine-readable output.") var json = false

    func validate() throws {
        guard (0.01...1).contains(evaluateFraction) else { throw ValidationError("--evaluate-fraction must be between 0.01 and 1") }
        guard (0...1).contains(threshold), (0...1).contains(reviewThreshold) else { throw ValidationError("thresholds must be between 0 and 1") }
    }

    func run() async throws {
        let resolver = SettingsResolver.command(connection.flags, namespace.flags)
        let redis = try await RedisConnection.connect(try connection.configuration(resolver, name: "fraudstream-backtest"))
        let base = StreamNames.namespace(resolving: resolver)
        let features = try await FeatureSetStore(namespace: base).load(featureSet, on: redis)
        let record = try await ModelStore(namespace: base).load(model, on: redis).bound(to: features.set.names)
        let ruleVersion = rules == 0 ? RuleStore.Version.builtIn : try await RuleStore(namespace: base).load(rules, features: features.set.names, on: redis)
        let synthetic = try pseudonyms.resolved().map { $0.apply(try world.load()) } ?? world.load()
        try await world.warnIfUnlikePrepared(
            synthetic, namespace: base, doing: "backtesting", purpose: "backtest the history the model was trained on", on: redis)
        let rows = try await ScratchReplay(namespace: "\(base):backtest:\(getpid())").rows(
            of: synthetic, settings: try FeatureSettings.resolve(resolver), features: features.set, on: redis)
        let report = Backtest.run(
            history: synthetic.history, rows: rows, model: record,
            rules: FraudRules(threshold: threshold, reviewThreshold: reviewThreshold, ruleSet: ruleVersion.ruleSet),
            evaluateFraction: evaluateFraction)
        if json {
            var object = report.jsonObject(model: record.version, rules: ruleVersion.version)
            object["feature_set_version"] = features.version
            printJSON(object)
        } else {
            print(report.text(model: record.version, rules: ruleVersion.version) + (features.version == 0 ? "" : "\nfeatures    feature set v\(features.version): \(features.set.names.joined(separator: ", "))"))
        }
    }
}
