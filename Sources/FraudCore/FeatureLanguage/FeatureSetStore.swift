import Foundation
import RedisClient

/// Feature sets versioned in Redis like rule sets: `<ns>:featureset:<n>` (a hash: `text`, `created_ms`, `note`),
/// `<ns>:featureset` (the versions), `<ns>:featureset:latest` (the promoted one), `<ns>:featureset:next`. With none
/// promoted, workers and servers compute the built-in features only (version 0). Promotion is refused when the new set
/// drops a feature the served or shadow model reads, or one the promoted rules read.
public struct FeatureSetStore: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates the store of a namespace.
    public init(namespace: String) { self.namespace = namespace }

    private var texts: VersionedTexts { VersionedTexts(namespace: namespace, kind: "featureset", action: "features", noun: "feature set") }

    /// `<ns>:featureset:latest`.
    public var latestKey: String { texts.latestKey }

    /// One stored version.
    public struct Version: Sendable {
        /// Its number (0: the built-in features only, never stored).
        public var version: Int
        /// The definitions.
        public var set: FeatureSet
        /// When it was saved, epoch ms.
        public var createdMilliseconds: Int64
        /// What it was saved with (`add …`, `remove …`, `import FILE`).
        public var note: String

        /// The built-in features only, version 0.
        public static let builtIn = Version(version: 0, set: FeatureSet(definitions: []), createdMilliseconds: 0, note: "built-in features only")
    }

    /// Validates `text` and stores it as a new version (promoted when `promote`, with the promotion's checks);
    /// returns the version.
    public func save(
        _ text: String, note: String, promote: Bool, actor: String = AuditLog.commandLineActor, on connection: RedisConnection
    ) async throws -> Int {
        let set = try Self.parse(text)
        let version = try await texts.save(set.text, note: note, summary: "\(set.definitions.count) features", actor: actor, on: connection)
        if promote { try await self.promote(version, actor: actor, on: connection) }
        return version
    }

    /// `text` parsed, or an `invalidData` error naming the line and column.
    public static func parse(_ text: String) throws(FraudError) -> FeatureSet {
        do {
            return try FeatureSet.parse(text)
        } catch {
            throw FraudError(.invalidData, "\(error)")
        }
    }

    /// The promoted version's number, nil when none is.
    public func latestVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await texts.latestVersion(on: connection)
    }

    /// Every stored version's number, oldest first.
    public func versions(on connection: RedisConnection) async throws(RedisError) -> [Int] {
        try await texts.versions(on: connection)
    }

    /// Version `version`, or the promoted one (the built-in features only when none is) when nil.
    public func load(_ version: Int? = nil, on connection: RedisConnection) async throws -> Version {
        guard let stored = try await texts.load(version, listCommand: "fraudstream features list", on: connection) else { return .builtIn }
        do {
            return Version(version: stored.version, set: try FeatureSet.parse(stored.text), createdMilliseconds: stored.createdMilliseconds, note: stored.note)
        } catch {
            throw FraudError(.invalidData, "feature set version \(stored.version) does not parse: \(error)")
        }
    }

    /// The promoted set's feature names (empty when none is promoted).
    public func promotedNames(on connection: RedisConnection) async throws -> [String] {
        guard try await latestVersion(on: connection) != nil else { return [] }
        return try await load(on: connection).set.names
    }

    /// Makes `version` the set workers and servers compute (they switch between batches). Refused, with the reader's
    /// version, when the served or shadow model reads a feature the set does not define, or the promoted rules do.
    public func promote(_ version: Int, actor: String = AuditLog.commandLineActor, on connection: RedisConnection) async throws {
        let candidate = try await load(version, on: connection)
        try await checkReaders(of: candidate, on: connection)
        try await texts.recordPromotion(version, actor: actor, on: connection)
    }

    /// Throws when a served or shadow model, or the promoted rule set, reads a feature `candidate` does not define.
    public func checkReaders(of candidate: Version, on connection: RedisConnection) async throws {
        let defined = Set(FeatureSchema.names + candidate.set.names)
        let models = ModelStore(namespace: namespace)
        var readers: [(String, Int)] = []
        if let served = try await models.latestVersion(on: connection) { readers.append(("served", served)) }
        if let shadow = try await models.shadowVersion(on: connection) { readers.append(("shadow", shadow)) }
        for (role, number) in readers {
            let model = try await models.load(number, on: connection)
            let missing = model.featureNames.filter { !defined.contains($0) }
            guard missing.isEmpty else {
                throw FraudError(
                    .invalidData,
                    "feature set v\(candidate.version) drops \(missing.joined(separator: ", ")), which the \(role) model v\(model.version) reads; "
                        + "promote a model that does not read \(missing.count == 1 ? "it" : "them") first")
            }
        }
        let rules = RuleStore(namespace: namespace)
        if let promoted = try await rules.latestVersion(on: connection) {
            do {
                _ = try await rules.load(promoted, features: candidate.set.names, on: connection)
            } catch {
                // Name what the rules read that the set lacks: the names no built-in feature, field or the set defines.
                let text = (try? await rules.load(promoted, on: connection))?.ruleSet.text ?? ""
                let known = Set(FeatureSchema.names + RuleLanguage.textFields + candidate.set.names + ["score", "true", "false", "and", "or", "not", "in", "reason"])
                var missing: [String] = []
                for line in RuleSet.lines(text) {
                    guard let tokens = try? RuleLexer.tokens(RuleSet.withoutComment(line)) else { continue }
                    let condition = tokens.prefix { $0.kind != .symbol("=>") }
                    for case .name(let name) in condition.map(\.kind) where !known.contains(name) && !missing.contains(name) { missing.append(name) }
                }
                throw FraudError(
                    .invalidData,
                    "feature set v\(candidate.version) drops \(missing.isEmpty ? "a feature" : missing.joined(separator: ", ")), which the promoted "
                        + "rule set v\(promoted) reads; promote rules that do not read \(missing.count > 1 ? "them" : "it") first")
            }
        }
    }
}
