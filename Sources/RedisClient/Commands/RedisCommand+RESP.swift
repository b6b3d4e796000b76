extension RedisCommand {
    /// Bytes of the command in the Redis protocol (`*<n>\r\n`, then `$<len>\r\n<bytes>\r\n` per argument).
    var respByteCount: Int {
        var total = 3 + Self.decimalDigits(ends.count)
        var start = 0
        for end in ends {
            let length = end - start
            total += 5 + Self.decimalDigits(length) + length
            start = end
        }
        return total
    }

    /// Writes the command in the Redis protocol at `output`, which has room for ``respByteCount`` bytes;
    /// returns the bytes written.
    ///
    /// A pipeline is encoded into one buffer and handed to hiredis as formatted bytes: hiredis's own
    /// per-argument formatting (`sdscatfmt`) was a visible share of a worker's CPU.
    func writeRESP(to output: UnsafeMutablePointer<UInt8>) -> Int {
        var position = 0
        func byte(_ value: UInt8) {
            output[position] = value
            position += 1
        }
        func decimal(_ value: Int) {
            if value < 10 {
                byte(UInt8(ascii: "0") + UInt8(value))
                return
            }
            let digits = Self.decimalDigits(value)
            var remaining = value
            for index in stride(from: digits - 1, through: 0, by: -1) {
                output[position + index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            position += digits
        }
        byte(UInt8(ascii: "*"))
        decimal(ends.count)
        byte(13)
        byte(10)
        storage.withUnsafeBufferPointer { bytes in
            var start = 0
            for end in ends {
                byte(UInt8(ascii: "$"))
                decimal(end - start)
                byte(13)
                byte(10)
                if end > start, let base = bytes.baseAddress {
                    (output + position).update(from: base + start, count: end - start)
                    position += end - start
                }
                byte(13)
                byte(10)
                start = end
            }
        }
        return position
    }

    /// Digits of a non-negative integer in decimal.
    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var remaining = value
        while remaining >= 10 {
            remaining /= 10
            digits += 1
        }
        return digits
    }

    /// The commands in the Redis protocol, back to back.
    static func encodeRESP(_ commands: [RedisCommand]) -> [UInt8] {
        let total = commands.reduce(0) { $0 + $1.respByteCount }
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, count in
            var position = 0
            if let base = buffer.baseAddress {
                for command in commands { position += command.writeRESP(to: base + position) }
            }
            count = position
        }
    }
}
