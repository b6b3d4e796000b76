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

    /// `FCALL fs_bloom_remove` for `item`.
    public func command(_ item: String) -> RedisCommand { layout.command(Self.function, item: item) }

    /// Whether the item was removed (`false`: it was not a member).
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let removed) = try reply.get(), removed == 0 || removed == 1 else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return removed == 1
    }
}
