import RedisClient

/// `fs_bloom_remove`: unlists an item for the sources in a mask (``BloomItemCall/Source/any`` for an operator's
/// removal), atomically. The members hash says whether the item is listed, not the counters: an item that was never
/// added is never removed, even when the filter reports it as a (false-positive) member, and a removal can never
/// take a colliding member out. When no source lists it any more, its counters above zero and below 15 are
/// decremented. The reply is 1 when the item is no longer listed because of this call, 0 when nothing was removed.
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
    public func command(_ item: String, source: BloomItemCall.Source = .any) -> RedisCommand {
        layout.command(Self.function, item: item, source: source)
    }

    /// Whether the item was removed (`false`: it was not a member).
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Bool {
        guard case .integer(let removed) = try reply.get(), removed == 0 || removed == 1 else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return removed == 1
    }
}
