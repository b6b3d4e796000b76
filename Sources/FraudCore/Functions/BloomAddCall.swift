import RedisClient

/// `fs_bloom_add`: adds an item to a counting Bloom filter by incrementing its k 4-bit counters
/// (`BITFIELD … OVERFLOW SAT INCRBY u4 #<index> 1`): a counter saturates at 15 and stays there. The reply is
/// the number of counters incremented (k).
public struct BloomAddCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_add"

    /// Number of keys the call passes.
    public static let keyCount = BloomItemCall.keyCount
    /// The keys by their position in `KEYS`, shared with the other item call.
    public typealias Key = BloomItemCall.Key
    /// The arguments by their position in `ARGV`, shared with the other item call.
    public typealias Argument = BloomItemCall.Argument

    /// The key and shape.
    public let layout: BloomItemCall

    /// Creates the call for the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        layout = BloomItemCall(counters: counters, shape: shape)
    }

    /// `FCALL fs_bloom_add` for `item`.
    public func command(_ item: String) -> RedisCommand { layout.command(Self.function, item: item) }

    /// The number of counters incremented.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Int {
        guard case .integer(let count) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return Int(count)
    }
}
