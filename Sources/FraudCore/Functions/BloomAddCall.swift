import RedisClient

/// `fs_bloom_add`: sets an item's bits in a Bloom filter's bitmap. The reply is the number of offsets set.
public struct BloomAddCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_add"

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The filter's bitmap.
        case bitmap = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The first bit offset to set, followed by the others.
        case firstOffset = 1
    }

    /// The filter's bitmap key.
    public let bitmap: String
    /// The filter's shape.
    public let shape: BloomFilterShape

    /// Creates the call for the filter in `bitmap`.
    public init(bitmap: String, shape: BloomFilterShape) {
        self.bitmap = bitmap
        self.shape = shape
    }

    /// `FCALL fs_bloom_add` for `item`.
    public func command(_ item: String) -> RedisCommand {
        var command = RedisCommand("FCALL", Self.function, Self.keyCount, bitmap)
        for offset in shape.offsets(item) { command.append(offset) }
        return command
    }

    /// The number of offsets set.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Int {
        guard case .integer(let count) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return Int(count)
    }
}
