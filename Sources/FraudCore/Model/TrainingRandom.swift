/// SplitMix64: the small, fast, seedable generator behind every random choice in training, so a seed
/// gives the same model on every platform and Swift version.
struct TrainingRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Starts the sequence of a seed.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Draws `count` of the integers `0..<population` without replacement, in ascending order,
    /// into `output[0..<count]` (selection sampling, Knuth's algorithm S).
    mutating func sampleSorted(_ count: Int, from population: Int, into output: inout [Int32]) {
        precondition(count <= population && output.count >= count)
        var chosen = 0
        var index = 0
        while chosen < count {
            let remaining = Double(population - index)
            if Double(count - chosen) > unit() * remaining {
                output[chosen] = Int32(index)
                chosen += 1
            }
            index += 1
        }
    }
}
