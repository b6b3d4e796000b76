import Foundation
import RedisClient

/// Rule sets versioned in Redis, like models: `<ns>:rules:<n>` (a hash: `text`, `created_ms`, `note`),
/// `<ns>:rules` (the versions, a sorted set), `<ns>:rules:latest` (the promoted version), `<ns>:rules:next`
/// (the version counter). With no version promoted, workers and servers use ``RuleSet/standard`` (version 0).
public struct RuleStore: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates the store of a namespace.
    public init(namespace: String) { self.namespace = namespace }

    private var texts: VersionedTexts { VersionedTexts(namespace: namespace, kind: "rules", action: "rules", noun: "rule set") }

    /// `<ns>:rules:<n>`.
    public func key(_ version: Int) -> String { texts.key(version) }
    /// `<ns>:rules`.
    public var indexKey: String { texts.indexKey }
    /// `<ns>:rules:latest`.
    public var latestKey: String { texts.latestKey }
    /// `<ns>:rules:next`.
    public var counterKey: String { texts.counterKey }

    /// One stored version.
    public struct Version: Sendable {
        /// Its number (0: the built-in default set, never stored).
        public var version: Int
        /// The compiled rules.
        public var ruleSet: RuleSet
        /// When it was saved, epoch ms.
        public var createdMilliseconds: Int64
        /// What it was saved with (`add …`, `remove …`, `import FILE`).
        public var note: String

        /// The built-in rules, version 0.
        public static let builtIn = Version(version: 0, ruleSet: .standard, createdMilliseconds: 0, note: "built-in default rules")
    }

    /// Validates `text` against the promoted feature set and stores it as a new version (promoted when `promote`);
    /// returns the version.
    public func save(
        _ text: String, note: String, promote: Bool, actor: String = AuditLog.commandLineActor, on connection: RedisConnection
    ) async throws -> Int {
        let ruleSet = try RuleSet(parsing: text, features: try await FeatureSetStore(namespace: namespace).promotedNames(on: connection))
        let version = try await texts.save(text, note: note, summary: "\(ruleSet.rules.count) rules", actor: actor, on: connection)
        if promote { try await texts.recordPromotion(version, actor: actor, on: connection) }
        return version
    }

    /// The promoted version's number, nil when none is.
    public func latestVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await texts.latestVersion(on: connection)
    }

    /// Every stored version's number, oldest first.
    public func versions(on connection: RedisConnection) async throws(RedisError) -> [Int] {
        try await texts.versions(on: connection)
    }

    /// Version `version`, or the promoted one (or the built-in default when none is promoted) when nil, compiled
    /// against the promoted feature set.
    public func load(_ version: Int? = nil, on connection: RedisConnection) async throws -> Version {
        try await load(version, features: try await FeatureSetStore(namespace: namespace).promotedNames(on: connection), on: connection)
    }

    /// Version `version` (the promoted one when nil) compiled against `features`, the feature set's names.
    public func load(_ version: Int?, features: [String], on connection: RedisConnection) async throws -> Version {
        guard let stored = try await texts.load(version, listCommand: "fraudstream rules list", on: connection) else { return .builtIn }
        do {
            return Version(
                version: stored.version, ruleSet: try RuleSet(parsing: stored.text, features: features),
                createdMilliseconds: stored.createdMilliseconds, note: stored.note)
        } catch {
            throw FraudError(.invalidData, "rule set version \(stored.version) does not compile: \(error)")
        }
    }

    /// Makes `version` the one workers and servers use (they switch between batches). Refused when it does not compile
    /// against the promoted feature set (it reads a feature the set does not define).
    public func promote(_ version: Int, actor: String = AuditLog.commandLineActor, on connection: RedisConnection) async throws {
        guard try await texts.exists(version, on: connection) else {
            throw FraudError(.notFound, "no rule set version \(version) under '\(namespace)' (fraudstream rules list)")
        }
        _ = try await load(version, on: connection)
        try await texts.recordPromotion(version, actor: actor, on: connection)
    }
}
