import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// What every decision of this process is made with: the champion model, the shadow (challenger) model, the rules
/// and the feature definitions (the promoted feature set, with the IP blocklist's shape). One holder for the stream worker and the scoring
/// API, fed by the watchers (``watchers(_:)``), read by whoever decides, without an actor hop: a short lock per batch.
///
/// A promoted model, a rule set or a blocklist shape takes over at the next batch: a batch is decided with one model
/// and one rule set.
public final class ServingState: Sendable {
    private struct State {
        var model: ModelRecord
        var pending: ModelRecord?
        var rules: FraudRules
        var rulesVersion: Int
        var shadow: ModelRecord?
        var extractor: FeatureExtractor
    }

    private let state: Mutex<State>
    private let logger: Logger

    /// Creates the state serving `model` with `rules` (rule set version `rulesVersion`; 0 = the built-in one) and
    /// the features of `extractor`.
    public init(model: ModelRecord, rules: FraudRules, rulesVersion: Int = 0, extractor: FeatureExtractor, logger: Logger) {
        state = Mutex(State(model: model, rules: rules, rulesVersion: rulesVersion, extractor: extractor))
        self.logger = logger
    }

    // MARK: Reading

    /// The version that decided the last batch.
    public var modelVersion: Int { state.withLock { $0.model.version } }

    /// The model that decides the next batch: a queued one, else the one in use.
    public var servingModel: ModelRecord { state.withLock { $0.pending ?? $0.model } }

    /// The version that decides the next batch.
    public var nextModelVersion: Int { servingModel.version }

    /// The rules on top of the score, as they decide now.
    public var rules: FraudRules { state.withLock { $0.rules } }

    /// The rule set version deciding now.
    public var nextRulesVersion: Int { state.withLock { $0.rulesVersion } }

    /// The shadow model's version, nil when none.
    public var shadowModelVersion: Int? { state.withLock { $0.shadow?.version } }

    /// The feature definitions in use (the blocklist's shape can change while running).
    public var extractor: FeatureExtractor { state.withLock { $0.extractor } }

    /// The blocklist's shape in use.
    public var blocklistShape: BloomFilterShape? { extractor.blocklistShape }

    // MARK: Deciding

    /// Decides a batch of feature vectors (with their transactions, for rules on text fields): the champion's score,
    /// the rules, the shadow's score; where `explain` says so, the features' shares of the margin. A model queued
    /// since the last batch takes over first.
    ///
    /// `features` names the feature set's features the vectors carry (after the built-in ones), when the caller computed
    /// them with an extractor it read earlier: should the set have changed meanwhile, the rules read them by these names.
    public func decide(_ vectors: [[Double]], transactions: [Transaction]?, explain: [Bool]? = nil, features: [String]? = nil) -> [ExplainedDecision] {
        var (model, rules, rulesVersion, shadow) = forBatch()
        if let features, features != rules.ruleSet.features {
            if let recompiled = try? rules.ruleSet.compiled(for: features) {
                rules.ruleSet = recompiled
            } else {
                logger.warning("a batch computed with another feature set is decided without the rules that read features it lacks")
                rules.ruleSet = (try? RuleSet(parsing: "", features: features)) ?? rules.ruleSet
            }
        }
        return vectors.indices.map { index in
            let vector = vectors[index]
            var decision = rules.decide(
                score: model.probability(vector), features: vector, modelVersion: model.version, transaction: transactions?[index])
            decision.rulesVersion = rulesVersion
            if let shadow {
                let score = shadow.probability(vector)
                decision.shadowScore = score
                decision.shadowIsFraud = score >= rules.threshold
                decision.shadowModelVersion = shadow.version
            }
            guard explain?[index] == true else { return ExplainedDecision(decision: decision, baseMargin: 0, contributions: nil) }
            let split = model.contributions(vector)
            return ExplainedDecision(decision: decision, baseMargin: split.base, contributions: split.features)
        }
    }

    /// The answer when no state could be read in time: the serving model's score of the transaction-only vector,
    /// the configured `decision`, and the reason `degraded`.
    public func degraded(_ transaction: Transaction, decision: String) -> ScoredDecision {
        let vector = extractor.degradedVector(transaction)
        let model = servingModel
        return ScoredDecision(
            score: model.probability(vector), isFraud: decision == "decline", decision: decision, reasons: "degraded",
            modelVersion: model.version)
    }

    private func forBatch() -> (ModelRecord, FraudRules, Int, ModelRecord?) {
        let (state, switched) = state.withLock { state -> (State, (from: Int, to: Int)?) in
            var switched: (Int, Int)?
            if let next = state.pending {
                switched = (state.model.version, next.version)
                state.model = next
                state.pending = nil
            }
            return (state, switched)
        }
        if let switched {
            logger.notice("switched model between batches", metadata: ["from": "\(switched.from)", "to": "\(switched.to)"])
        }
        return (state.model, state.rules, state.rulesVersion, state.shadow)
    }

    // MARK: Changing

    /// Queues a model to take over at the next batch, bound to the feature set in use; throws (`modelUnavailable`, and
    /// keeps the current model) when it reads a feature that set does not define.
    public func install(_ record: ModelRecord) throws(FraudError) {
        try state.withLock { state throws(FraudError) in
            let bound = try Self.bind(record, to: state.extractor)
            if record.version != state.model.version || state.pending != nil { state.pending = bound }
        }
    }

    /// `record` bound to the features `extractor` computes, or a `modelUnavailable` error naming what it lacks.
    private static func bind(_ record: ModelRecord, to extractor: FeatureExtractor) throws(FraudError) -> ModelRecord {
        do {
            return try record.bound(to: extractor.entities?.names ?? [])
        } catch {
            throw FraudError(.modelUnavailable, "model version \(record.version): \(error.message) (feature set in use: v\(extractor.featureSetVersion))")
        }
    }

    /// The rule set for the next batch, compiled against the feature set in use; throws (`invalidData`) and keeps the
    /// current rules when it reads a feature that set does not define.
    public func install(rules ruleSet: RuleSet, version: Int) throws(FraudError) {
        let from = try state.withLock { state throws(FraudError) in
            let compiled: RuleSet
            do {
                compiled = try ruleSet.compiled(for: state.extractor.entities?.names ?? [])
            } catch {
                throw FraudError(.invalidData, "rule set version \(version) reads a feature the feature set in use does not define: \(error)")
            }
            defer {
                state.rules.ruleSet = compiled
                state.rulesVersion = version
            }
            return state.rulesVersion
        }
        if from != version { logger.notice("switched rules", metadata: ["from": "\(from)", "to": "\(version)"]) }
    }

    /// The feature set version computing now (0: the built-in features only).
    public var featureSetVersion: Int { extractor.featureSetVersion }

    /// Computes `set` (version `version`) from the next batch on, with the rules recompiled against its names; throws
    /// (`invalidData`) and keeps the current set when the rules in use read a feature it drops.
    public func install(features set: FeatureSet, version: Int) throws(FraudError) {
        let from = try state.withLock { state throws(FraudError) in
            let next = FeatureExtractor(
                settings: state.extractor.settings, blocklistShape: state.extractor.blocklistShape, features: set, featureSetVersion: version)
            let rules: RuleSet
            do {
                rules = try state.rules.ruleSet.compiled(for: next.entities?.names ?? [])
            } catch {
                throw FraudError(.invalidData, "the rules in use (v\(state.rulesVersion)) read a feature feature set v\(version) drops: \(error)")
            }
            // The models read their features by name: bound again to the new positions, or the set is refused.
            let model: ModelRecord, pending: ModelRecord?, shadow: ModelRecord?
            do {
                model = try Self.bind(state.model, to: next)
                pending = try state.pending.map { record throws(FraudError) in try Self.bind(record, to: next) }
                shadow = try state.shadow.map { record throws(FraudError) in try Self.bind(record, to: next) }
            } catch {
                throw FraudError(.invalidData, "feature set v\(version) drops a feature a model in use reads: \(error)")
            }
            defer {
                state.extractor = next
                state.rules.ruleSet = rules
                state.model = model
                state.pending = pending
                state.shadow = shadow
            }
            return state.extractor.featureSetVersion
        }
        if from != version {
            logger.notice("switched feature set", metadata: ["from": "\(from)", "to": "\(version)", "features": "\(set.definitions.count)"])
        }
    }

    /// Sets (nil: clears) the shadow model for the next batches, bound to the feature set in use; throws
    /// (`modelUnavailable`) when it reads a feature that set does not define.
    public func installShadow(_ record: ModelRecord?) throws(FraudError) {
        let from = try state.withLock { state throws(FraudError) in
            let bound = try record.map { record throws(FraudError) in try Self.bind(record, to: state.extractor) }
            defer { state.shadow = bound }
            return state.shadow?.version
        }
        if record?.version != from {
            logger.notice("shadow model changed", metadata: ["from": "\(from?.description ?? "none")", "to": "\(record?.version.description ?? "none")"])
        }
    }

    /// Uses the blocklist of `shape` from the next batch on.
    public func useBlocklist(_ shape: BloomFilterShape?) {
        state.withLock { state in
            if state.extractor.blocklistShape != shape { state.extractor = state.extractor.with(blocklistShape: shape) }
        }
    }
}

/// A decision with, when asked for, the features' shares of the model's margin (they add up to the margin
/// with ``baseMargin``).
public struct ExplainedDecision: Sendable {
    /// The decision.
    public var decision: ScoredDecision
    /// The margin before any feature's share.
    public var baseMargin: Double
    /// One share per feature in ``FeatureSchema/names`` order, or `nil` when not asked for.
    public var contributions: [Double]?
}

extension ServingState {
    /// What a host needs to start deciding, read once at start-up the same way by the worker and the server:
    /// the Functions libraries loaded, the namespace's epoch, the model (pinned or promoted), the promoted rules
    /// and the blocklist's shape.
    public struct Startup: Sendable {
        /// The state to decide with.
        public let serving: ServingState
        /// The namespace's epoch when the host started (``StateWatcher``).
        public let epoch: String
        /// The model store.
        public let models: ModelStore
        /// The rule store.
        public let rules: RuleStore
        /// The feature set store.
        public let featureSets: FeatureSetStore
        /// The namespace.
        public let namespace: String
        /// A pinned model version (`--model-version`): never replaced by a promotion.
        public let pinnedModelVersion: Int?
    }

    /// Loads the libraries and the serving state of `namespace` over `control`.
    public static func start(
        namespace: String, features: FeatureSettings, threshold: Double, reviewThreshold: Double, pinnedModelVersion: Int?,
        on control: RedisConnection, logger: Logger
    ) async throws -> Startup {
        for library in FunctionLibrary.all { try await library.load(on: control) }
        let models = ModelStore(namespace: namespace)
        let model = try await models.load(pinnedModelVersion, on: control)
        let epoch = try await NamespaceEpoch(namespace: namespace).ensure(on: control)
        let shape = try await FeatureStore(namespace: namespace).blocklistShape(on: control)
        let featureSets = FeatureSetStore(namespace: namespace)
        let featureSet = try await featureSets.load(on: control)
        let ruleStore = RuleStore(namespace: namespace)
        let rules = try await ruleStore.load(nil, features: featureSet.set.names, on: control)
        var settings = features
        settings.namespace = namespace
        let extractor = FeatureExtractor(settings: settings, blocklistShape: shape, features: featureSet.set, featureSetVersion: featureSet.version)
        let serving = ServingState(
            model: try bind(model, to: extractor), rules: FraudRules(threshold: threshold, reviewThreshold: reviewThreshold, ruleSet: rules.ruleSet),
            rulesVersion: rules.version, extractor: extractor, logger: logger)
        return Startup(
            serving: serving, epoch: epoch, models: models, rules: ruleStore, featureSets: featureSets, namespace: namespace,
            pinnedModelVersion: pinnedModelVersion)
    }
}

extension ServingState.Startup {
    /// The services that keep the serving state current, the same for both hosts: promotions (unless pinned), rule
    /// sets, the shadow model, the blocklist's shape, and the namespace's state (a Redis that lost it pauses deciding).
    public func watchers(
        connection: RedisConnection, intervalMilliseconds: Int, stateGuard: StateGuard, metrics: FraudMetrics, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = []
        let serving = self.serving
        if pinnedModelVersion == nil {
            services.append(ModelWatcher(
                connection: connection, store: models, serving: serving, intervalMilliseconds: intervalMilliseconds, logger: logger,
                metrics: metrics))
        }
        services.append(FeatureSetWatcher(
            connection: connection, store: featureSets, serving: serving, intervalMilliseconds: intervalMilliseconds, logger: logger))
        services.append(RuleWatcher(connection: connection, store: rules, serving: serving, intervalMilliseconds: intervalMilliseconds, logger: logger))
        services.append(ShadowWatcher(connection: connection, store: models, serving: serving, intervalMilliseconds: intervalMilliseconds, logger: logger))
        services.append(BlocklistWatcher(
            namespace: namespace, connection: connection, intervalMilliseconds: intervalMilliseconds, logger: logger,
            current: { serving.blocklistShape }, use: { serving.useBlocklist($0) }))
        services.append(StateWatcher(
            connection: connection, namespace: namespace, epoch: epoch, stateGuard: stateGuard, pinnedModelVersion: pinnedModelVersion,
            serving: serving, intervalMilliseconds: intervalMilliseconds, metrics: metrics, logger: logger))
        return services
    }
}
