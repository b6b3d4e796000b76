import RedisClient

/// The call layout `fs_bloom_add` and `fs_bloom_remove` share: the filter's counters key, then one item's k
/// counter offsets. ``BloomAddCall`` and ``BloomRemoveCall`` differ only in their function and reply.
public struct BloomItemCall: Sendable {
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

    /// Creates the layout for the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        self.counters = counters
        self.shape = shape
    }

    /// `FCALL <function>` for `item`.
    func command(_ function: String, item: String) -> RedisCommand {
        var command = RedisCommand("FCALL", function, Self.keyCount, counters)
        var scratch: [Int] = []
        shape.appendCounterArguments(item, to: &command, scratch: &scratch)
        return command
    }
}
