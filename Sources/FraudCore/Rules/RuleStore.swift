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

    /// `<ns>:rules:<n>`.
    public func key(_ version: Int) -> String { "\(namespace):rules:\(version)" }
    /// `<ns>:rules`.
    public var indexKey: String { "\(namespace):rules" }
    /// `<ns>:rules:latest`.
    public var latestKey: String { "\(namespace):rules:latest" }
    /// `<ns>:rules:next`.
    public var counterKey: String { "\(namespace):rules:next" }

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

    /// Validates `text` and stores it as a new version (promoted when `promote`); returns the version.
    public func save(
        _ text: String, note: String, promote: Bool, actor: String = AuditLog.commandLineActor, on connection: RedisConnection
    ) async throws -> Int {
        let ruleSet = try RuleSet(parsing: text)
        let version = try await connection.send(RedisCommand("INCR", counterKey)).int ?? 0
        // The version and its audit entry in one transaction; its index entry beside it (another slot on a cluster).
        for reply in try await AuditLog(namespace: namespace).recording(
            [RedisCommand("HSET", key(version), "text", text, "created_ms", Int64(Date().timeIntervalSince1970 * 1000), "note", note)],
            entry: .init(actor: actor, action: "rules.save", target: "v\(version)", change: "\(ruleSet.rules.count) rules; \(note)"),
            key: key(version), on: connection)
        {
            _ = try reply.get()
        }
        _ = try await connection.send(RedisCommand("ZADD", indexKey, version, String(version))).get()
        // Promoted only once the version is stored: on a cluster the keys live on different nodes, and a watcher
        // must never see the promotion before the version.
        if promote { try await recordPromotion(version, actor: actor, on: connection) }
        return version
    }

    /// The promoted version's number, nil when none is.
    public func latestVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await connection.send(RedisCommand("GET", latestKey)).int
    }

    /// Every stored version's number, oldest first.
    public func versions(on connection: RedisConnection) async throws(RedisError) -> [Int] {
        (try await connection.send(RedisCommand("ZRANGE", indexKey, 0, -1)).array ?? []).compactMap { $0.string.flatMap(Int.init) }
    }

    /// Version `version`, or the promoted one (or the built-in default when none is promoted) when nil.
    public func load(_ version: Int? = nil, on connection: RedisConnection) async throws -> Version {
        var resolved = version
        if resolved == nil { resolved = try await latestVersion(on: connection) }
        guard let resolved, resolved > 0 else {
            return .builtIn
        }
        let fields = try await connection.send(RedisCommand("HGETALL", key(resolved))).stringPairs ?? [:]
        guard let text = fields["text"] else {
            throw FraudError(.notFound, "no rule set version \(resolved) under '\(namespace)' (fraudstream rules list)")
        }
        do {
            return Version(
                version: resolved, ruleSet: try RuleSet(parsing: text), createdMilliseconds: Int64(fields["created_ms"] ?? "") ?? 0,
                note: fields["note"] ?? "")
        } catch {
            throw FraudError(.invalidData, "rule set version \(resolved) does not compile: \(error)")
        }
    }

    /// Makes `version` the one workers and servers use (they switch between batches).
    public func promote(_ version: Int, actor: String = AuditLog.commandLineActor, on connection: RedisConnection) async throws {
        guard try await connection.send(RedisCommand("EXISTS", key(version))).int == 1 else {
            throw FraudError(.notFound, "no rule set version \(version) under '\(namespace)' (fraudstream rules list)")
        }
        try await recordPromotion(version, actor: actor, on: connection)
    }

    /// `SET latest` with its audit entry, in one transaction.
    private func recordPromotion(_ version: Int, actor: String, on connection: RedisConnection) async throws {
        let before = try await latestVersion(on: connection).map { "v\($0)" } ?? "built-in"
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand("SET", latestKey, version)],
            entry: .init(actor: actor, action: "rules.promote", target: "v\(version)", change: "\(before) → v\(version)"), key: latestKey,
            on: connection)
    }
}
