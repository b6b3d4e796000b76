import Foundation

/// A Bloom filter stored in a plain Redis bitmap (core Redis, no RedisBloom).
///
/// The size follows the textbook optimum: m = −n·ln p / (ln 2)² bits and k = (m / n)·ln 2 hashes.
/// Bit offsets come from double hashing of two ``StableHash`` values, computed in Swift; Redis only
/// sets and tests bits (`fs_bloom_add`, `fs_bloom_check`).
public struct BloomFilterShape: Sendable, Equatable, Codable {
    /// Number of bits.
    public var bits: Int
    /// Number of hash functions.
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
        self.bits = max(64, Int(m))
        self.hashes = max(1, Int((m / n * log(2)).rounded()))
        self.capacity = capacity
        self.falsePositiveRate = falsePositiveRate
    }

    /// Restores a stored shape.
    public init(bits: Int, hashes: Int, capacity: Int, falsePositiveRate: Double) {
        self.bits = bits
        self.hashes = hashes
        self.capacity = capacity
        self.falsePositiveRate = falsePositiveRate
    }

    /// The bit offsets of `item`.
    public func offsets(_ item: String) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(hashes)
        appendOffsets(item, to: &result)
        return result
    }

    /// Appends the bit offsets of `item` (Kirsch–Mitzenmacher double hashing).
    public func appendOffsets(_ item: String, to buffer: inout [Int]) {
        let first = StableHash.hash(item, seed: 0x5151)
        let second = StableHash.hash(item, seed: 0xB100) | 1
        let m = UInt64(bits)
        for index in 0..<UInt64(hashes) {
            buffer.append(Int((first &+ index &* second) % m))
        }
    }
}
