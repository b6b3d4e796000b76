import RedisClient

/// `fs_bloom_add`: adds an item to a counting Bloom filter by incrementing its k 4-bit counters
/// (`BITFIELD … OVERFLOW SAT INCRBY u4 #<index> 1`): a counter saturates at 15 and stays there. The reply is
/// the number of counters incremented (k).
public struct BloomAddCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_add"

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The filter's string of 4-bit counters.
        case counters = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The first counter offset (`#<index>`) to increment, followed by the others.
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

    /// `FCALL fs_bloom_add` for `item`.
    public func command(_ item: String) -> RedisCommand {
        var command = RedisCommand("FCALL", Self.function, Self.keyCount, counters)
        var scratch: [Int] = []
        shape.appendCounterArguments(item, to: &command, scratch: &scratch)
        return command
    }

    /// The number of counters incremented.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Int {
        guard case .integer(let count) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return Int(count)
    }
}
