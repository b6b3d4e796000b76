/// A 64-bit hash that is the same on every platform and run (unlike `Hasher`), for sketches and filters.
public enum StableHash {
    /// FNV-1a over the bytes, then a SplitMix64 finaliser for avalanche; `seed` gives independent functions.
    @inlinable
    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325 ^ (seed &* 0x9E37_79B9_7F4A_7C15)
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        return mix(value)
    }

    /// SplitMix64's finaliser.
    @inlinable
    public static func mix(_ input: UInt64) -> UInt64 {
        var z = input &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
