import Crypto
import Foundation
import RedisClient

/// What an API key may do on `fraudstream serve`.
public enum APIScope: String, CaseIterable, Sendable, Codable, Comparable {
    /// `POST /v1/score`, `/v1/score/batch` and the tutorial's `POST /`.
    case score
    /// Blocklist `GET`, `/v1/models/current`.
    case read
    /// Blocklist changes and the admin endpoints.
    case admin

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses `score,read`; throws naming what is wrong.
    public static func parseList(_ text: String) throws(FraudError) -> Set<APIScope> {
        var scopes: Set<APIScope> = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let scope = APIScope(rawValue: part) else {
                throw FraudError(.invalidSetting, "unknown scope '\(part)': use score, read or admin (comma-separated)")
            }
            scopes.insert(scope)
        }
        guard !scopes.isEmpty else { throw FraudError(.invalidSetting, "--scope needs at least one of score, read, admin") }
        return scopes
    }
}

/// One API key as stored: never its secret, only a salted SHA-256 of it.
///
/// A secret is `fsk_<id>_<43 characters>`: the id (public, 16 hex digits) finds the key, the rest is 256 random bits.
/// A secret that long cannot be guessed or brute-forced from its hash, so a salted SHA-256 is enough (a slow password
/// hash such as bcrypt protects low-entropy human passwords, at a cost on every request); the salt keeps equal
/// secrets from having equal hashes. Verification compares hashes in constant time.
public struct APIKey: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var scopes: [APIScope]
    /// Hex of 16 random bytes.
    public var salt: String
    /// Hex of SHA-256(salt bytes ‖ secret).
    public var hash: String
    public var createdMilliseconds: Int64

    enum CodingKeys: String, CodingKey {
        case id, name, scopes, salt, hash
        case createdMilliseconds = "created_ms"
    }

    /// Whether `secret` is this key's.
    public func matches(_ secret: String) -> Bool {
        guard let salt = Self.bytes(hex: salt), let stored = Self.bytes(hex: hash) else { return false }
        let computed = Array(SHA256.hash(data: salt + Array(secret.utf8)))
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ stored[index] }
        return difference == 0
    }

    /// The id in a secret (`fsk_<id>_…`), or nil when it is not shaped as one.
    public static func id(inSecret secret: String) -> String? {
        let parts = secret.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "fsk", parts[1].count == 16, parts[1].allSatisfy(\.isHexDigit), parts[2].count >= 32 else { return nil }
        return String(parts[1])
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func bytes(hex: String) -> [UInt8]? {
        let characters = Array(hex.utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(characters.count / 2)
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let byte = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// A new key and its secret (shown once).
    static func make(name: String, scopes: Set<APIScope>, nowMilliseconds: Int64) -> (APIKey, secret: String) {
        let id = hex(randomBytes(8))
        let secret = "fsk_\(id)_" + Data(randomBytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let salt = randomBytes(16)
        let key = APIKey(
            id: id, name: name, scopes: scopes.sorted(), salt: hex(salt), hash: hex(SHA256.hash(data: salt + Array(secret.utf8))),
            createdMilliseconds: nowMilliseconds)
        return (key, secret)
    }
}

/// The API keys of a namespace in Redis, all in one hash slot (`{<ns>:apikeys}`), so each change (the key, its
/// name, the version servers poll, and its audit entry) is one `MULTI`/`EXEC` on a cluster too:
/// - `{<ns>:apikeys}` hash: id → the key as JSON;
/// - `{<ns>:apikeys}:names` hash: name → id;
/// - `{<ns>:apikeys}:version`: incremented by every change; a server reloads the keys when it moves (within a second);
/// - `{<ns>:apikeys}:used` hash: name → last use, ms (written by servers at most once a minute per key).
public struct APIKeyStore: Sendable {
    public let namespace: String

    public init(namespace: String) { self.namespace = namespace }

    public var keysKey: String { "{\(namespace):apikeys}" }
    public var namesKey: String { "{\(namespace):apikeys}:names" }
    public var versionKey: String { "{\(namespace):apikeys}:version" }
    public var usedKey: String { "{\(namespace):apikeys}:used" }
    /// The audit stream of key changes (in the keys' slot: ``AuditLog``).
    public var auditStream: String { AuditLog(namespace: namespace).stream(tag: "\(namespace):apikeys") }

    /// Names are what operators and the audit log see: letters, digits and `.`, `_`, `-`, `@`, at most 64.
    public static func validate(name: String) throws(FraudError) {
        guard !name.isEmpty, name.utf8.count <= 64,
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-@".unicodeScalars.contains($0)) })
        else { throw FraudError(.invalidSetting, "--name '\(name.prefix(70))' must be 1-64 characters of A-Z a-z 0-9 . _ - @") }
    }

    /// Creates a key; returns it and its secret. Refuses a name in use.
    public func create(name: String, scopes: Set<APIScope>, actor: String, on connection: RedisConnection) async throws -> (APIKey, secret: String) {
        try Self.validate(name: name)
        let (key, secret) = APIKey.make(name: name, scopes: scopes, nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let json = String(decoding: try JSONEncoder().encode(key), as: UTF8.self)
        let exists = FraudError(.invalidSetting, "an API key named '\(name)' exists (fraudstream apikeys list; revoke it first)")
        if try await connection.send(RedisCommand("HEXISTS", namesKey, name)).int == 1 { throw exists }
        let audit = AuditLog.Entry(actor: actor, action: "apikeys.create", target: name, change: "scopes \(key.scopes.map(\.rawValue).joined(separator: ","))")
        // One transaction: the name (taken only when free), the key, the version servers follow, the audit entry.
        let replies = try await connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("HSETNX", namesKey, name, key.id), RedisCommand("HSET", keysKey, key.id, json),
            RedisCommand("INCR", versionKey), audit.command(stream: auditStream, namespace: namespace), RedisCommand("EXEC"),
        ])
        guard case .array(let results) = try replies[replies.count - 1].get(), results.count == 4 else {
            throw FraudError(.redis, "creating the API key '\(name)' failed: \(replies[replies.count - 1])")
        }
        if results[0].int != 1 {
            // Another create took the name between the check and the transaction: take this key back out.
            _ = try await connection.pipeline([RedisCommand("HDEL", keysKey, key.id), RedisCommand("INCR", versionKey)])
            throw exists
        }
        return (key, secret)
    }

    /// Revokes the key `name`; `false` when there is none.
    public func revoke(name: String, actor: String, on connection: RedisConnection) async throws -> Bool {
        guard let id = try await connection.send(RedisCommand("HGET", namesKey, name)).string else { return false }
        let audit = AuditLog.Entry(actor: actor, action: "apikeys.revoke", target: name, change: "revoked")
        _ = try await connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("HDEL", keysKey, id), RedisCommand("HDEL", namesKey, name),
            RedisCommand("HDEL", usedKey, name), RedisCommand("INCR", versionKey), audit.command(stream: auditStream, namespace: namespace),
            RedisCommand("EXEC"),
        ])
        return true
    }

    /// Every key, by name.
    public func load(on connection: RedisConnection) async throws -> [APIKey] {
        let reply = try await connection.send(RedisCommand("HGETALL", keysKey))
        let decoder = JSONDecoder()
        return (reply.stringPairs ?? [:]).values.compactMap { try? decoder.decode(APIKey.self, from: Data($0.utf8)) }.sorted { $0.name < $1.name }
    }

    /// The version servers follow.
    public func version(on connection: RedisConnection) async throws(RedisError) -> Int {
        try await connection.send(RedisCommand("GET", versionKey)).string.flatMap(Int.init) ?? 0
    }

    /// Last use of each key by name, ms.
    public func lastUsed(on connection: RedisConnection) async throws(RedisError) -> [String: Int64] {
        (try await connection.send(RedisCommand("HGETALL", usedKey)).stringPairs ?? [:]).compactMapValues { Int64($0) }
    }
}
