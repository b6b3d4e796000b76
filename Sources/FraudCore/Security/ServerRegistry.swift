import Foundation
import RedisClient

/// Where each running `serve` says how it is exposed, so `doctor` can report the API's security posture: one field
/// per server id in the hash `<ns>:servers`, a JSON ``Posture``, refreshed every ``refreshMilliseconds`` and removed at
/// a graceful stop. A server that stopped without removing its field is shown as not seen for a while and removed by
/// the next announcement a day later; the hash expires a day after the last refresh.
public struct ServerRegistry: Sendable {
    public let namespace: String
    /// The hash.
    public var key: String { "\(namespace):servers" }
    /// How often a running server refreshes its field.
    public static let refreshMilliseconds = 10_000
    /// A field not refreshed for this long belongs to a server that is not running.
    public static let staleMilliseconds: Int64 = 60_000
    /// A field not refreshed for this long is removed by the next announcement.
    public static let forgetMilliseconds: Int64 = 86_400_000

    public init(namespace: String) {
        self.namespace = namespace
    }

    /// How one server is exposed.
    public struct Posture: Codable, Sendable, Equatable {
        public var serverId: String
        /// `keys` (API keys required) or `off` (`--auth off`).
        public var auth: String
        /// Whether bearer JWTs are accepted beside API keys (`--jwks`).
        public var jwt: Bool
        /// Whether it serves HTTPS (`--tls-cert`), and whether it asks for client certificates (`--tls-client-ca`).
        public var https: Bool
        public var clientCertificates: Bool
        /// The pseudonymized identifiers (empty: none).
        public var pseudonymized: [String]
        /// Where it listens.
        public var address: String
        public var version: String
        /// When it last refreshed its field, ms since the epoch.
        public var seenMilliseconds: Int64

        public init(
            serverId: String, auth: String, jwt: Bool, https: Bool, clientCertificates: Bool, pseudonymized: [String], address: String,
            version: String, seenMilliseconds: Int64 = 0
        ) {
            self.serverId = serverId
            self.auth = auth
            self.jwt = jwt
            self.https = https
            self.clientCertificates = clientCertificates
            self.pseudonymized = pseudonymized
            self.address = address
            self.version = version
            self.seenMilliseconds = seenMilliseconds
        }

        /// For people: `auth keys (+JWT), HTTPS with client certificates, pseudonymized user_id`.
        public var summary: String {
            var parts = ["auth \(auth)" + (jwt ? " (+JWT)" : "")]
            parts.append(https ? (clientCertificates ? "HTTPS with client certificates" : "HTTPS") : "plain HTTP")
            parts.append(pseudonymized.isEmpty ? "identifiers in clear" : "pseudonymized \(pseudonymized.joined(separator: ","))")
            return parts.joined(separator: ", ")
        }
    }

    /// Writes (or refreshes) a server's field, stamped now.
    public func announce(_ posture: Posture, on connection: RedisConnection) async throws(RedisError) {
        var stamped = posture
        stamped.seenMilliseconds = Int64(Date().timeIntervalSince1970 * 1_000)
        let json = (try? JSONEncoder().encode(stamped)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        // Servers that stopped without withdrawing (a crash, a new pid-based id per start) go after a day, so a hash a
        // long-running server keeps alive does not collect them for ever.
        let gone = try await list(on: connection).filter { stamped.seenMilliseconds - $0.seenMilliseconds > Self.forgetMilliseconds }
        var commands = [RedisCommand("HSET", key, posture.serverId, json), RedisCommand("PEXPIRE", key, 86_400_000)]
        if !gone.isEmpty { commands.append(RedisCommand("HDEL", arguments: [key] + gone.map { $0.serverId as any RedisArgument })) }
        for reply in try await connection.pipeline(commands) {
            _ = try reply.get()
        }
    }

    /// Removes a server's field (a graceful stop).
    public func withdraw(serverId: String, on connection: RedisConnection) async throws(RedisError) {
        _ = try await connection.send(RedisCommand("HDEL", key, serverId)).get()
    }

    /// Every server's posture, by server id; fields that do not decode are skipped.
    public func list(on connection: RedisConnection) async throws(RedisError) -> [Posture] {
        let fields = try await connection.send(RedisCommand("HGETALL", key)).get().stringPairs ?? [:]
        return fields.values.compactMap { try? JSONDecoder().decode(Posture.self, from: Data($0.utf8)) }.sorted { $0.serverId < $1.serverId }
    }
}
