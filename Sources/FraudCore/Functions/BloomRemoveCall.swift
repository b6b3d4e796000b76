import RedisClient

/// `fs_bloom_remove`: removes an item from a counting Bloom filter, atomically: only when all its k counters
/// are above zero (the filter holds it) does it decrement each counter that is not saturated (< 15). The reply
/// is 1 when the item was removed, 0 when it was not a member and nothing changed.
///
/// Remove only what was added. Like any counting Bloom filter (or the Cuckoo filter of the Redis tutorial),
/// the filter cannot tell a member from a false positive: removing an item that was never added but happens
/// to collide with members on all k counters decrements theirs, and can make one of them a non-member.
public struct BloomRemoveCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_remove"

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The filter's string of 4-bit counters.
        case counters = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The first counter offset (`#<index>`) of the item, followed by the others.
        case firstOffset = 1
    }

    /// The filter's counters key.
    public let counters: String
    /// The filter's shape.
    public let shape: BloomFilterShape

    /// Creates the call for the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        self.counters = counters
        self.shape = shape
    }

    /// `FCALL fs_bloom_remove` for `item`.
    public func command(_ item: String) -> RedisCommand {
        var command = RedisCommand("FCALL", Self.function, Self.keyCount, counters)
        var scratch: [Int] = []
        shape.appendCounterArguments(item, to: &command, scratch: &scratch)
        return command
    }

    /// Whether the item was removed (`false`: it was not a member).
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let removed) = try reply.get(), removed == 0 || removed == 1 else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return removed == 1
    }
}
