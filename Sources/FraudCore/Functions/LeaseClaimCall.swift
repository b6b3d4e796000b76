import RedisClient

/// `fs_lease_claim`: takes a consumer-name lease when it is free, or extends it when this worker's token
/// holds it; otherwise reports how long the other holder's lease still lives.
///
/// One function serves both the start-up claim and every renewal: a renewal that finds the lease gone
/// (expired during an outage, or a Redis restart without persistence) takes it again, since nobody else
/// holds the name; one that finds another token has lost the name.
public struct LeaseClaimCall: Sendable {
    /// The function's name in ``FunctionLibrary/lease``.
    public static let function = "fs_lease_claim"
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The lease key (``ConsumerLease/key(namespace:stream:group:consumer:)``).
        case lease = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// This worker's token.
        case token = 1
        /// The lease's time to live in milliseconds.
        case ttlMilliseconds
    }

    /// What the call found.
    public enum Outcome: Sendable, Equatable {
        /// The lease was free and is now this token's.
        case taken
        /// This token held the lease; its TTL starts again.
        case extended
        /// Another token holds the lease; it expires in this many milliseconds (`nil`: it has no expiry).
        case heldByAnother(remainingMilliseconds: Int?)
    }

    private static let argumentOrder = Argument.allCases

    /// The lease key.
    public let key: String
    /// This worker's token.
    public let token: String
    /// The TTL to set.
    public let ttlMilliseconds: Int

    /// Creates the call.
    public init(key: String, token: String, ttlMilliseconds: Int) {
        self.key = key
        self.token = token
        self.ttlMilliseconds = ttlMilliseconds
    }

    /// `FCALL fs_lease_claim 1 <key> <token> <ttl>`.
    public var command: RedisCommand {
        var command = RedisCommand("FCALL", Self.function, Self.keyCount, key)
        for argument in Self.argumentOrder {
            switch argument {
            case .token: command.append(token)
            case .ttlMilliseconds: command.append(ttlMilliseconds)
            }
        }
        return command
    }

    /// Decodes `{1|2, ttl}` or `{0, pttl}`.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Outcome {
        guard let parts = try reply.get().array, parts.count == 2, let status = parts[0].int, let milliseconds = parts[1].int else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        switch status {
        case 1: return .taken
        case 2: return .extended
        case 0: return .heldByAnother(remainingMilliseconds: milliseconds >= 0 ? milliseconds : nil)
        default: throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
    }
}
