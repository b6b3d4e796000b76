/// Redis Cluster's key-to-slot mapping: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key, or of its hash
/// tag, modulo 16384. The hash tag is what lies between the first `{` and the first `}` after it, when that is
/// not empty; keys sharing a tag share a slot (Redis Cluster specification, "Keys hash tags").
public enum HashSlot {
    /// Slots in a cluster.
    public static let count = 16_384

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    /// CRC16/XMODEM of `bytes`.
    public static func crc16(_ bytes: some Collection<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
        return crc
    }

    /// The slot of a key given as bytes.
    public static func of(_ key: some Collection<UInt8>) -> Int {
        if let open = key.firstIndex(of: UInt8(ascii: "{")) {
            let afterOpen = key.index(after: open)
            if let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen {
                return Int(crc16(key[afterOpen..<close])) % count
            }
        }
        return Int(crc16(key)) % count
    }

    /// The slot of a key.
    public static func of(_ key: String) -> Int { of(Array(key.utf8)) }

    /// The key's hash tag (what lies between its first `{` and the next `}`), or nil when it has none.
    public static func tag(of key: String) -> String? {
        guard let open = key.firstIndex(of: "{") else { return nil }
        let rest = key[key.index(after: open)...]
        guard let close = rest.firstIndex(of: "}"), close != rest.startIndex else { return nil }
        return String(rest[..<close])
    }

    /// What a key derived from `key` must carry to share its slot: `{<tag>}` when it has a tag, else `{<key>}`.
    public static func colocatedTag(of key: String) -> String { "{\(tag(of: key) ?? key)}" }
}
