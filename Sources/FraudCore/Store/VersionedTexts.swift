import Foundation
import RedisClient

/// Texts versioned in Redis, the way rule sets and feature sets are: `<ns>:<kind>:<n>` (a hash: `text`, `created_ms`,
/// `note`), `<ns>:<kind>` (the versions, a sorted set), `<ns>:<kind>:latest` (the promoted version), `<ns>:<kind>:next`
/// (the version counter). Every save and promotion is recorded in the audit log with its actor, in the same
/// transaction as the change. Version 0 is the built-in one, never stored.
struct VersionedTexts: Sendable {
    /// The namespace.
    let namespace: String
    /// The key word: `rules`, `featureset`.
    let kind: String
    /// The audit action's prefix: `rules`, `features`.
    let action: String
    /// What a version is, for messages: `rule set`, `feature set`.
    let noun: String

    func key(_ version: Int) -> String { "\(namespace):\(kind):\(version)" }
    var indexKey: String { "\(namespace):\(kind)" }
    var latestKey: String { "\(namespace):\(kind):latest" }
    var counterKey: String { "\(namespace):\(kind):next" }

    /// One stored version's fields.
    struct Stored: Sendable {
        var version: Int
        var text: String
        var createdMilliseconds: Int64
        var note: String
    }

    /// Stores `text` (already validated) as a new version with its audit entry (`summary` says what it holds);
    /// returns the version.
    func save(_ text: String, note: String, summary: String, actor: String, on connection: RedisConnection) async throws -> Int {
        let version = try await connection.send(RedisCommand("INCR", counterKey)).int ?? 0
        // The version and its audit entry in one transaction; its index entry beside it (another slot on a cluster).
        for reply in try await AuditLog(namespace: namespace).recording(
            [RedisCommand("HSET", key(version), "text", text, "created_ms", Int64(Date().timeIntervalSince1970 * 1000), "note", note)],
            entry: .init(actor: actor, action: "\(action).save", target: "v\(version)", change: "\(summary); \(note)"),
            key: key(version), on: connection)
        {
            _ = try reply.get()
        }
        _ = try await connection.send(RedisCommand("ZADD", indexKey, version, String(version))).get()
        return version
    }

    /// The promoted version's number, nil when none is.
    func latestVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await connection.send(RedisCommand("GET", latestKey)).int
    }

    /// Every stored version's number, oldest first.
    func versions(on connection: RedisConnection) async throws(RedisError) -> [Int] {
        (try await connection.send(RedisCommand("ZRANGE", indexKey, 0, -1)).array ?? []).compactMap { $0.string.flatMap(Int.init) }
    }

    /// Version `version` (the promoted one when nil); nil for the built-in version 0 (or none promoted).
    func load(_ version: Int?, listCommand: String, on connection: RedisConnection) async throws -> Stored? {
        var resolved = version
        if resolved == nil { resolved = try await latestVersion(on: connection) }
        guard let resolved, resolved > 0 else { return nil }
        let fields = try await connection.send(RedisCommand("HGETALL", key(resolved))).stringPairs ?? [:]
        guard let text = fields["text"] else {
            throw FraudError(.notFound, "no \(noun) version \(resolved) under '\(namespace)' (\(listCommand))")
        }
        return Stored(version: resolved, text: text, createdMilliseconds: Int64(fields["created_ms"] ?? "") ?? 0, note: fields["note"] ?? "")
    }

    /// Whether `version` is stored.
    func exists(_ version: Int, on connection: RedisConnection) async throws(RedisError) -> Bool {
        try await connection.send(RedisCommand("EXISTS", key(version))).int == 1
    }

    /// `SET latest` with its audit entry, in one transaction. Only once the version is stored: on a cluster the keys
    /// live on different nodes, and a watcher must never see the promotion before the version.
    func recordPromotion(_ version: Int, actor: String, on connection: RedisConnection) async throws {
        let before = try await latestVersion(on: connection).map { "v\($0)" } ?? "built-in"
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand("SET", latestKey, version)],
            entry: .init(actor: actor, action: "\(action).promote", target: "v\(version)", change: "\(before) → v\(version)"), key: latestKey,
            on: connection)
    }
}
