import RedisClient

/// The call layout `fs_bloom_add` and `fs_bloom_remove` share: the filter's counters key and its members hash, then a
/// source bit (or mask), the item and its k counter offsets. ``BloomAddCall`` and ``BloomRemoveCall`` differ only in
/// their function and reply.
public struct BloomItemCall: Sendable {
    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The filter's string of 4-bit counters.
        case counters = 1
        /// The exact record of members: a hash item → source bits.
        case members = 2
    }

    /// Who lists an item: the bits of the members hash.
    public enum Source: Int, Sendable {
        /// An operator: `blocklist add`, `PUT /v1/blocklist/ip/{ip}`.
        case operator_ = 1
        /// The loaded world (`prepare`).
        case world = 2
        /// Every source: what an operator's removal clears.
        case any = 3
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The source bit (add) or mask (remove).
        case source = 1
        /// The item itself.
        case item = 2
        /// The first counter offset (`#<index>`) of the item, followed by the others.
        case firstOffset = 3
    }

    /// The filter's counters key.
    public let counters: String
    /// The members hash, in the counters' hash slot.
    public var members: String { "{\(counters)}:members" }
    /// The filter's shape.
    public let shape: BloomFilterShape

    /// Creates the layout for the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        self.counters = counters
        self.shape = shape
    }

    /// `FCALL <function>` for `item` and `source`.
    func command(_ function: String, item: String, source: Source) -> RedisCommand {
        var command = RedisCommand("FCALL", function, Self.keyCount, counters, members, source.rawValue, item)
        var scratch: [Int] = []
        shape.appendCounterArguments(item, to: &command, scratch: &scratch)
        return command
    }
}
