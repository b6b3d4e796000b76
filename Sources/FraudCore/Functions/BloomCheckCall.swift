import RedisClient

/// `fs_bloom_check`: counting Bloom filter membership of a batch of items, in one call.
///
/// Counter offsets are computed in Swift (``BloomFilterShape``); the function reads counters with
/// `BITFIELD_RO`, one call per hash over the items not yet ruled out (so a non-member usually costs one counter
/// read), and only compares them with zero. It is flagged `no-writes`, so `FCALL_RO` and replicas accept it.
/// The reply is one 0/1 per item, in the order the items were appended: 1 when all the item's counters are
/// above zero.
public struct BloomCheckCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_check"

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The filter's string of 4-bit counters.
        case counters = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// Hashes per item k: the width of each item's group of offsets.
        case hashesPerItem = 1
        /// The first item's k counter offsets (`#<index>`), followed by every further item's.
        case firstItemOffsets
    }

    /// The filter's shape.
    public let shape: BloomFilterShape
    /// The command so far.
    public private(set) var command: RedisCommand
    /// Items appended; each one's index in the reply is its append order.
    public private(set) var itemCount = 0
    private var offsets: [Int] = []

    /// Starts a check against the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        self.shape = shape
        command = RedisCommand("FCALL", Self.function, Self.keyCount, counters, shape.hashes)
    }

    /// Adds `item` to the check and returns its index in the reply.
    @discardableResult
    public mutating func append(_ item: String) -> Int {
        shape.appendCounterArguments(item, to: &command, scratch: &offsets)
        itemCount += 1
        return itemCount - 1
    }

    /// Membership per item, in append order; `items` is the ``itemCount`` the command was built with.
    public static func decode(_ reply: RESPValue, items: Int) throws(RedisError) -> [Bool] {
        guard case .array(let hits) = try reply.get(), hits.count == items else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply) for \(items) items")
        }
        var result: [Bool] = []
        result.reserveCapacity(hits.count)
        for hit in hits {
            guard case .integer(let value) = hit else {
                throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
            }
            result.append(value == 1)
        }
        return result
    }
}
