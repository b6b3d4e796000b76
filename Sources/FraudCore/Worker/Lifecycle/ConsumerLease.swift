import Logging
import RedisClient

/// A worker's claim on its consumer name: a key in Redis holding a random token of this process, with a
/// TTL that ``LeaseKeeper`` renews while the worker runs.
///
/// Two processes reading as one consumer would each take the other's in-flight entries on start-up
/// recovery (processing them twice and pushing their delivery counts toward the dead-letter limit), so a
/// worker takes the lease before it reads and refuses to start while another live worker holds it. A
/// crashed worker's lease expires after the TTL; a clean shutdown releases it. Renewal and release are
/// compare-and-set on the token (``LeaseClaimCall``, ``LeaseReleaseCall``).
public struct ConsumerLease: Sendable, Equatable {
    /// The lease key (``key(streams:consumer:)``).
    public let key: String
    /// The consumer name it guards.
    public let consumer: String
    /// This process's token.
    public let token: String
    /// How long the lease lives without renewal, in milliseconds.
    public let ttlMilliseconds: Int

    /// A lease on `consumer` in the group of `streams`, with a fresh random token unless one is given.
    public init(streams: StreamNames, consumer: String, ttlMilliseconds: Int, token: String = ConsumerLease.makeToken()) {
        self.key = Self.key(streams: streams, consumer: consumer)
        self.consumer = consumer
        self.token = token
        self.ttlMilliseconds = ttlMilliseconds
    }

    /// `<ns>:lease:{<stream>}:<group>:<consumer>`: in the input stream's hash slot, so a function can check
    /// a consumer's lease and its pending entries in one call on Redis Cluster too. When the stream name
    /// has a hash tag of its own (`<ns>:transactions:{p1}`), that tag is used, followed by the stream name.
    public static func key(streams: StreamNames, consumer: String) -> String {
        let stream = streams.transactions
        let slot = hashTag(of: stream).map { "{\($0)}:\(stream)" } ?? "{\(stream)}"
        return "\(streams.namespace):lease:\(slot):\(streams.consumerGroup):\(consumer)"
    }

    /// The part of `key` that decides its cluster slot, when it has one: the text between the first `{`
    /// and the next `}`, unless empty.
    static func hashTag(of key: String) -> Substring? {
        guard let open = key.firstIndex(of: "{") else { return nil }
        let rest = key[key.index(after: open)...]
        guard let close = rest.firstIndex(of: "}"), close != rest.startIndex else { return nil }
        return rest[..<close]
    }

    /// 128 random bits as hex.
    public static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let text = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }

    /// The call that takes or renews this lease.
    public var claimCall: LeaseClaimCall { LeaseClaimCall(key: key, token: token, ttlMilliseconds: ttlMilliseconds) }

    /// Takes or renews the lease (see ``LeaseClaimCall``); a flushed library is loaded again and the call repeated.
    public func claim(on connection: RedisConnection, logger: Logger) async throws(RedisError) -> LeaseClaimCall.Outcome {
        try await Self.libraryPolicy.run(
            "renewing the consumer-name lease", logger: logger, recover: reloadingLibrary(.lease, on: connection)
        ) { () async throws(RedisError) -> LeaseClaimCall.Outcome in
            try LeaseClaimCall.decode(try await connection.send(claimCall.command))
        }
    }

    /// Takes the lease before the worker reads; throws ``FraudError/Code/consumerNameInUse`` when another
    /// live worker holds it.
    public func acquire(on connection: RedisConnection, logger: Logger) async throws(FraudError) {
        let outcome: LeaseClaimCall.Outcome
        do {
            outcome = try await claim(on: connection, logger: logger)
        } catch {
            throw FraudError(redis: error)
        }
        if case .heldByAnother(let remaining) = outcome {
            throw FraudError(.consumerNameInUse, Self.heldMessage(consumer: consumer, remainingMilliseconds: remaining, key: key))
        }
    }

    /// Deletes the lease if this token still holds it; `true` when it did.
    @discardableResult
    public func release(on connection: RedisConnection) async throws(RedisError) -> Bool {
        try LeaseReleaseCall.decode(try await connection.send(LeaseReleaseCall(key: key, token: token).command))
    }

    /// `consumer name 'w1' is held by another live worker (lease expires in 8 s)`.
    static func heldMessage(consumer: String, remainingMilliseconds: Int?, key: String) -> String {
        guard let remaining = remainingMilliseconds else {
            return "consumer name '\(consumer)' is held by another worker (lease \(key) has no expiry; delete it if that worker is gone)"
        }
        return "consumer name '\(consumer)' is held by another live worker (lease expires in \((remaining + 999) / 1000) s)"
    }

    /// One more attempt after a flushed library was loaded again; transient failures are left to the caller.
    static let libraryPolicy = RetryPolicy(maximumAttempts: 2, initialBackoffMilliseconds: 50, maximumBackoffMilliseconds: 200)
}
