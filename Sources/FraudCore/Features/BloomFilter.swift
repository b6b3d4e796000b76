import Foundation

/// The shape of a counting Bloom filter stored in one Redis string of 4-bit counters (core Redis, no RedisBloom).
///
/// The size follows the textbook optimum for a Bloom filter: m = −n·ln p / (ln 2)² counters and
/// k = (m / n)·ln 2 hashes, so the false-positive rate is the one a plain Bloom filter of m bits would have.
/// Each position is a 4-bit counter instead of a bit (4× the memory) so items can be removed: an add
/// increments the item's k counters, a remove decrements them, and an item is a member while all its
/// counters are above zero. A counter that reaches ``saturatedCount`` stays there and is never decremented,
/// so overflow can only keep an item in the filter, never drop one.
///
/// Counter indices come from double hashing of two ``StableHash`` values, computed in Swift; Redis only
/// reads and updates counters with `BITFIELD` (`fs_bloom_check`, `fs_bloom_add`, `fs_bloom_remove`).
public struct BloomFilterShape: Sendable, Equatable, Codable {
    /// Bits per counter: `u4` in `BITFIELD`.
    public static let counterBits = 4
    /// The largest value a counter holds; a counter at it is saturated and never decremented.
    public static let saturatedCount = (1 << counterBits) - 1

    /// Number of counters m.
    public var counters: Int
    /// Number of hash functions k: counters per item.
    public var hashes: Int
    /// The capacity it was sized for.
    public var capacity: Int
    /// The false-positive rate it was sized for at capacity.
    public var falsePositiveRate: Double

    /// Sizes a filter for `capacity` items at `falsePositiveRate`.
    public init(capacity: Int, falsePositiveRate: Double) {
        let n = Double(max(1, capacity))
        let p = min(max(falsePositiveRate, 1e-9), 0.5)
        let m = (-n * log(p) / (log(2) * log(2))).rounded(.up)
        self.counters = max(64, Int(m))
        self.hashes = max(1, Int((m / n * log(2)).rounded()))
        self.capacity = capacity
        self.falsePositiveRate = falsePositiveRate
    }

    /// Restores a stored shape.
    public init(counters: Int, hashes: Int, capacity: Int, falsePositiveRate: Double) {
        self.counters = counters
        self.hashes = hashes
        self.capacity = capacity
        self.falsePositiveRate = falsePositiveRate
    }

    /// Bytes of the Redis string that holds the counters.
    public var byteCount: Int { (counters * Self.counterBits + 7) / 8 }

    /// The counter indices of `item`, each in `0..<counters`.
    public func offsets(_ item: String) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(hashes)
        appendOffsets(item, to: &result)
        return result
    }

    /// Appends the counter indices of `item` (Kirsch–Mitzenmacher double hashing).
    public func appendOffsets(_ item: String, to buffer: inout [Int]) {
        let first = StableHash.hash(item, seed: 0x5151)
        let second = StableHash.hash(item, seed: 0xB100) | 1
        let m = UInt64(counters)
        for index in 0..<UInt64(hashes) {
            buffer.append(Int((first &+ index &* second) % m))
        }
    }
}
