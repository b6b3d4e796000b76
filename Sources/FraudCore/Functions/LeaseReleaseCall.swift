import RedisClient

/// `fs_lease_release`: deletes a consumer-name lease only while this worker's token holds it, so a worker
/// that lost its lease (after a long pause) never frees the name under its new owner.
public struct LeaseReleaseCall: Sendable {
    /// The function's name in ``FunctionLibrary/lease``.
    public static let function = "fs_lease_release"
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The lease key.
        case lease = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// This worker's token.
        case token = 1
    }

    /// The lease key.
    public let key: String
    /// This worker's token.
    public let token: String

    /// Creates the call.
    public init(key: String, token: String) {
        self.key = key
        self.token = token
    }

    /// `FCALL fs_lease_release 1 <key> <token>`.
    public var command: RedisCommand { RedisCommand("FCALL", Self.function, Self.keyCount, key, token) }

    /// `true` when the lease was this token's and is now deleted.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let released) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return released == 1
    }
}
