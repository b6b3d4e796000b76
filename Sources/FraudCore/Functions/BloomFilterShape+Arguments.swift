import RedisClient

extension BloomFilterShape {
    /// Appends `item`'s k counter offsets to `command` in the `#<index>` form `BITFIELD` reads as
    /// index × 4 bits, so the Lua passes them through without formatting a number. `scratch` is reused
    /// between items to keep allocations out of the per-transaction path.
    func appendCounterArguments(_ item: String, to command: inout RedisCommand, scratch: inout [Int]) {
        scratch.removeAll(keepingCapacity: true)
        appendOffsets(item, to: &scratch)
        for index in scratch { command.append(marker: "#", Int64(index)) }
    }
}
