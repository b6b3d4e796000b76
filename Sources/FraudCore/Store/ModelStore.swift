import Foundation
import RedisClient

/// Model versions in Redis: `<ns>:model:<n>` (JSON), `<ns>:models` (sorted set of versions) and
/// `<ns>:model:latest` (the promoted version that workers serve).
public struct ModelStore: Sendable {
    /// The namespace.
    public let namespace: String

    /// Creates a store under `namespace`.
    public init(namespace: String) { self.namespace = namespace }

    /// Key of one version.
    public func key(_ version: Int) -> String { "\(namespace):model:\(version)" }
    /// The sorted set of versions.
    public var indexKey: String { "\(namespace):models" }
    /// The pointer to the promoted version.
    public var latestKey: String { "\(namespace):model:latest" }
    /// The version counter.
    public var counterKey: String { "\(namespace):model:next" }

    /// Saves `record` as a new version (and promotes it when asked); returns the version number.
    public func save(_ record: ModelRecord, promote: Bool, on connection: RedisConnection) async throws -> Int {
        let version = try await connection.send(RedisCommand("INCR", counterKey)).int ?? 0
        var stored = record
        stored.version = version
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A held-out split without fraud gives NaN AUCs; store them rather than fail the save.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = try encoder.encode(stored)
        var commands = [
            RedisCommand("SET", key(version), String(decoding: json, as: UTF8.self)),
            RedisCommand("ZADD", indexKey, version, String(version)),
        ]
        if promote { commands.append(RedisCommand("SET", latestKey, version)) }
        // The namespace's epoch is born with its first model (see NamespaceEpoch).
        commands.append(RedisCommand("SET", NamespaceEpoch(namespace: namespace).key, NamespaceEpoch.newToken(), "NX"))
        for reply in try await connection.pipeline(commands) { _ = try reply.get() }
        return version
    }

    /// Versions, oldest first.
    public func versions(on connection: RedisConnection) async throws(RedisError) -> [Int] {
        let reply = try await connection.send(RedisCommand("ZRANGE", indexKey, 0, -1))
        return (reply.array ?? []).compactMap(\.int)
    }

    /// The promoted version, if any.
    public func latestVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await connection.send(RedisCommand("GET", latestKey)).int
    }

    /// `<ns>:model:shadow`: the challenger version every transaction is also scored with (`models shadow N`).
    public var shadowKey: String { "\(namespace):model:shadow" }

    /// The shadow model's version, nil when none is set.
    public func shadowVersion(on connection: RedisConnection) async throws(RedisError) -> Int? {
        try await connection.send(RedisCommand("GET", shadowKey)).int
    }

    /// Sets (or, with nil, clears) the shadow model; a version that does not exist is refused.
    public func setShadow(_ version: Int?, actor: String = AuditLog.commandLineActor, on connection: RedisConnection) async throws {
        let before = try await shadowVersion(on: connection).map { "v\($0)" } ?? "none"
        let audit = AuditLog(namespace: namespace)
        guard let version else {
            _ = try await audit.recording(
                [RedisCommand("DEL", shadowKey)], entry: .init(actor: actor, action: "models.shadow", target: "none", change: "\(before) → none"),
                key: shadowKey, on: connection)
            return
        }
        try await checkFeatures(try await load(version, on: connection), on: connection)
        _ = try await audit.recording(
            [RedisCommand("SET", shadowKey, version)],
            entry: .init(actor: actor, action: "models.shadow", target: "v\(version)", change: "\(before) → v\(version)"), key: shadowKey,
            on: connection)
    }

    /// Makes `version` the one workers serve.
    public func promote(_ version: Int, actor: String = AuditLog.commandLineActor, on connection: RedisConnection) async throws {
        guard try await connection.send(RedisCommand("EXISTS", key(version))).int == 1 else {
            throw FraudError(.modelUnavailable, "model version \(version) does not exist")
        }
        try await checkFeatures(try await load(version, on: connection), on: connection)
        let before = try await latestVersion(on: connection).map { "v\($0)" } ?? "none"
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand("SET", latestKey, version)],
            entry: .init(actor: actor, action: "models.promote", target: "v\(version)", change: "\(before) → v\(version)"), key: latestKey,
            on: connection)
    }

    /// Throws (`invalidData`) when `record` reads a feature neither the built-in ones nor the promoted feature set
    /// define: workers and servers could not serve it.
    public func checkFeatures(_ record: ModelRecord, on connection: RedisConnection) async throws {
        let features = try await FeatureSetStore(namespace: namespace).promotedNames(on: connection)
        do {
            _ = try record.bound(to: features)
        } catch {
            throw FraudError(.invalidData, "model version \(record.version): \(error.message); promote a feature set that defines it first")
        }
    }

    /// Loads a version (the promoted one when `nil`) and checks that it fits this build.
    public func load(_ version: Int? = nil, on connection: RedisConnection) async throws -> ModelRecord {
        let resolved: Int
        if let version {
            resolved = version
        } else if let latest = try await latestVersion(on: connection) {
            resolved = latest
        } else {
            throw FraudError(.modelUnavailable, "no model in Redis under '\(namespace)': run `fraudstream prepare` first")
        }
        guard let bytes = try await connection.send(RedisCommand("GET", key(resolved))).bytes else {
            throw FraudError(.modelUnavailable, "model version \(resolved) does not exist under '\(namespace)'")
        }
        return try Self.decode(bytes, version: resolved)
    }

    /// Decodes and validates a stored model.
    public static func decode(_ bytes: [UInt8], version: Int) throws -> ModelRecord {
        let record: ModelRecord
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            record = try decoder.decode(ModelRecord.self, from: Data(bytes))
        } catch {
            throw FraudError(.modelUnavailable, "model version \(version) is corrupt: \(error)")
        }
        try validate(record)
        return record
    }

    /// Rejects a model that reads a feature this build does not compute, or whose trees are inconsistent. A model may
    /// read any subset of the served features in any order (the decision path gathers its row by name).
    public static func validate(_ record: ModelRecord) throws {
        if let imported = record.imported {
            // Decoding already mapped its features onto this build's and checked its trees.
            guard record.featureNames == imported.trees.featureNames else {
                throw FraudError(.modelUnavailable, "model version \(record.version) is corrupt: its feature names differ from its trees'")
            }
            return
        }
        // Any subset of the served features, in any order, each once.
        let unknown = record.featureNames.filter { FeatureSchema.index(of: $0) == nil }
        guard unknown.isEmpty, Set(record.featureNames).count == record.featureNames.count, !record.featureNames.isEmpty else {
            var detail = "model version \(record.version) reads features this build does not compute"
            if !unknown.isEmpty { detail += ": \(unknown.joined(separator: ","))" }
            if unknown.isEmpty { detail = "model version \(record.version) names a feature twice, or none" }
            throw FraudError(.modelUnavailable, detail + "; it computes \(FeatureSchema.names.joined(separator: ","))")
        }
        guard record.ensemble.featureNames == record.featureNames, record.ensemble.featureCount == record.featureNames.count else {
            throw FraudError(
                .modelUnavailable,
                "model version \(record.version) is corrupt: its trees read \(record.ensemble.featureCount) features, its record names \(record.featureNames.count)")
        }
        do {
            try record.ensemble.validate()
        } catch {
            throw FraudError(.modelUnavailable, "model version \(record.version) is corrupt: \(error)")
        }
    }
}
