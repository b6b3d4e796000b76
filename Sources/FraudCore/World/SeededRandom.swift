/// A deterministic random number generator: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same sequence on every platform and every Swift version: the generator
/// uses only integer arithmetic, and the helpers below build doubles, bounded integers and
/// distributions themselves (with `DeterministicMath` for logarithms and trigonometry) instead of
/// relying on the standard library's or Foundation's random APIs, whose algorithms may change.
public struct SeededRandom: RandomNumberGenerator, Sendable, Equatable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator whose whole state comes from `seed`.
    public init(seed: UInt64) {
        var mixer = seed
        s0 = Self.splitMix(&mixer)
        s1 = Self.splitMix(&mixer)
        s2 = Self.splitMix(&mixer)
        s3 = Self.splitMix(&mixer)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 }
    }

    /// Creates an independent generator for one sub-stream of `seed`, e.g. stream 3 = legit activity,
    /// index = user number, so that each user's draws do not depend on any other user's.
    public init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
        var mixer = seed
        var combined = Self.splitMix(&mixer)
        mixer = combined ^ (stream &* 0xD1B5_4A32_D192_ED03)
        combined = Self.splitMix(&mixer)
        mixer = combined ^ (index &* 0xAEF1_7502_108E_F2D9)
        self.init(seed: Self.splitMix(&mixer))
    }

    /// One SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
    public static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = Self.rotateLeft(s1 &* 5, by: 7) &* 9
        let shifted = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= shifted
        s3 = Self.rotateLeft(s3, by: 45)
        return result
    }

    private static func rotateLeft(_ value: UInt64, by amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 - amount))
    }

    // MARK: - Uniform

    /// A uniform double in `0 ..< 1` with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform double in `lower ..< upper`.
    public mutating func uniform(_ lower: Double, _ upper: Double) -> Double {
        lower + (upper - lower) * nextDouble()
    }

    /// A uniform integer in `0 ..< upperBound` without modulo bias (multiply-and-reject).
    public mutating func int(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "upperBound must be positive")
        let bound = UInt64(upperBound)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return Int(product.high)
    }

    /// A uniform integer in `range`.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// `true` with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool {
        nextDouble() < probability
    }

    /// A uniformly chosen element; `nil` when `elements` is empty.
    public mutating func element<Element>(of elements: [Element]) -> Element? {
        elements.isEmpty ? nil : elements[int(below: elements.count)]
    }

    // MARK: - Distributions

    /// A normal variate (Box–Muller, one of the pair; the other is discarded).
    public mutating func normal(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        let u1 = 1 - nextDouble()  // (0, 1]: the logarithm stays finite
        let u2 = nextDouble()
        let radius = (-2 * DeterministicMath.log(u1)).squareRoot()
        return mean + standardDeviation * radius * DeterministicMath.cos(2 * Double.pi * u2)
    }

    /// A log-normal variate whose median is `median` and whose logarithm has standard deviation `sigma`.
    public mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * DeterministicMath.exp(normal(mean: 0, standardDeviation: sigma))
    }

    /// An exponential variate with the given mean (waiting time of a Poisson process).
    public mutating func exponential(mean: Double) -> Double {
        -mean * DeterministicMath.log(1 - nextDouble())
    }

    /// A Poisson count with the given mean: multiplication method up to 30, normal approximation above.
    public mutating func poisson(mean: Double) -> Int {
        guard mean > 0 else { return 0 }
        if mean > 30 {
            return max(0, Int((normal(mean: mean, standardDeviation: mean.squareRoot()) + 0.5).rounded(.down)))
        }
        let limit = DeterministicMath.exp(-mean)
        var count = 0
        var product = nextDouble()
        while product > limit {
            count += 1
            product *= nextDouble()
        }
        return count
    }

    /// An index chosen with probability proportional to `weights` (non-negative, not all zero).
    public mutating func weightedIndex(_ weights: [Double]) -> Int {
        var total = 0.0
        for weight in weights { total += weight }
        var target = nextDouble() * total
        for (index, weight) in weights.enumerated() {
            if target < weight { return index }
            target -= weight
        }
        return weights.count - 1
    }

    /// An index chosen from running totals (`cumulative[i]` = sum of weights `0...i`), by binary search;
    /// for large tables that are sampled often.
    public mutating func weightedIndex(cumulative: [Double]) -> Int {
        guard let total = cumulative.last, total > 0 else { return 0 }
        let target = nextDouble() * total
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
