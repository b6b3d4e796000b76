import RedisClient

/// `fs_bloom_add`: lists an item for a source. The members hash records the source; when no source listed the item
/// before, its k 4-bit counters are incremented (`BITFIELD … OVERFLOW SAT INCRBY u4 #<index> 1`; a counter saturates
/// at 15 and stays there). The reply is 1 when the item was newly listed, 0 when it already was.
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
    public func command(_ item: String, source: BloomItemCall.Source = .operator_) -> RedisCommand {
        layout.command(Self.function, item: item, source: source)
    }

    /// Whether the item was newly listed (its counters incremented).
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let added) = try reply.get(), added == 0 || added == 1 else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return added == 1
    }
}
