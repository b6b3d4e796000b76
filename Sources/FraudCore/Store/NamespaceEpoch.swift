import Foundation
import RedisClient
import ServiceLifecycle

/// `<ns>:epoch`: a token that lives as long as the namespace's state does. It is created with the namespace's first
/// model (``ModelStore/save(_:promote:on:)``, so by `prepare`, `train` and imports alike) and never changes while Redis
/// keeps its data. Workers and servers remember it at start; when it is gone or different, Redis lost (or someone
/// rebuilt) the state they decide with, and they stop deciding from memory (``StateGuard``).
public struct NamespaceEpoch: Sendable {
    /// The key namespace.
    public let namespace: String

    /// The epoch of `namespace`.
    public init(namespace: String) { self.namespace = namespace }

    /// `<ns>:epoch`.
    public var key: String { "\(namespace):epoch" }

    /// The epoch, creating it when the namespace has none yet.
    public func ensure(on connection: RedisConnection) async throws(RedisError) -> String {
        let token = Self.newToken()
        let replies = try await connection.pipeline([RedisCommand("SET", key, token, "NX"), RedisCommand("GET", key)])
        return (try replies[1].get()).string ?? token
    }

    /// A new epoch: creation time in ms and a random part.
    static func newToken() -> String { "\(Int64(Date().timeIntervalSince1970 * 1000))-\(UInt64.random(in: 0...UInt64.max))" }

    /// Returns once the namespace has an epoch; while Redis has lost its state, checks every quarter second. Ends with
    /// a `cancelled` error on cancellation or graceful shutdown.
    public func waitUntilPresent(on connection: RedisConnection) async throws(RedisError) {
        while try await read(on: connection) == nil {
            if Task.isCancelled || Task.isShuttingDownGracefully {
                throw RedisError(code: .cancelled, message: "stopped while waiting for the namespace's state to come back")
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    /// The epoch, or `nil` when the namespace has none (never prepared, or Redis lost its data).
    public func read(on connection: RedisConnection) async throws(RedisError) -> String? {
        try await connection.send(RedisCommand("GET", key)).string
    }
}
