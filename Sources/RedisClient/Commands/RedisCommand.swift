/// A Redis command as a binary-safe argument vector.
///
/// All arguments live in one contiguous byte buffer with their end offsets, so sending a command
/// through `redisAppendCommandArgv` needs no per-argument allocation. Nothing is ever formatted
/// through a printf-style string.
public struct RedisCommand: Sendable, Hashable {
    /// Every argument's bytes, back to back.
    public private(set) var storage: [UInt8]
    /// The end offset of each argument in ``storage``.
    public private(set) var ends: [Int]

    /// A command from its name and arguments: `RedisCommand("SET", "key", 42)`.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        storage = []
        ends = []
        storage.reserveCapacity(32)
        ends.reserveCapacity(arguments.count + 1)
        append(name)
        for argument in arguments { append(argument) }
    }

    /// A command from its name and a list of arguments.
    public init(_ name: String, arguments: [any RedisArgument]) {
        storage = []
        ends = []
        ends.reserveCapacity(arguments.count + 1)
        append(name)
        for argument in arguments { append(argument) }
    }

    /// Number of arguments, the command name included.
    public var count: Int { ends.count }

    /// The arguments as separate byte arrays (for logs and tests).
    public var arguments: [[UInt8]] {
        var start = 0
        return ends.map { end in
            defer { start = end }
            return Array(storage[start..<end])
        }
    }

    /// The command name, as sent.
    public var name: String {
        String(decoding: storage[0..<(ends.first ?? 0)], as: UTF8.self)
    }

    /// Appends one argument.
    public mutating func append(_ argument: some RedisArgument) {
        argument.appendRedisBytes(to: &storage)
        ends.append(storage.count)
    }

    /// Appends one argument of any conforming type.
    public mutating func append(_ argument: any RedisArgument) {
        argument.appendRedisBytes(to: &storage)
        ends.append(storage.count)
    }

    /// Appends every argument of `other` but its name: a tail worked out once (the same arguments for every call of a
    /// kind) costs one copy instead of formatting each argument again.
    public mutating func append(argumentsOf other: RedisCommand) {
        guard let nameEnd = other.ends.first else { return }
        let base = storage.count - nameEnd
        storage.append(contentsOf: other.storage[nameEnd...])
        for end in other.ends.dropFirst() { ends.append(end + base) }
    }

    /// Appends raw bytes as one argument.
    public mutating func append(bytes: some Sequence<UInt8>) {
        storage.append(contentsOf: bytes)
        ends.append(storage.count)
    }

    /// Appends one argument made of `prefix` followed by `suffix` (a key such as `ns:{user}:` + `window`),
    /// without building the joined string first.
    public mutating func append(prefix: [UInt8], _ suffix: String) {
        storage.append(contentsOf: prefix)
        storage.append(contentsOf: suffix.utf8)
        ends.append(storage.count)
    }

    /// Appends one argument made of an ASCII marker and a decimal integer (`(1790812740000`, `#17`),
    /// as score bounds and BITFIELD offsets are written.
    public mutating func append(marker: Character, _ value: Int64) {
        storage.append(contentsOf: marker.utf8)
        value.appendRedisBytes(to: &storage)
        ends.append(storage.count)
    }
}

/// Writes a decimal integer without creating a `String` (commands are built per transaction): the digits
/// go right to left into a small stack buffer and are appended in one step.
@inlinable
func appendDecimal(_ value: Int64, to buffer: inout [UInt8]) {
    var magnitude = value.magnitude
    if value < 0 { buffer.append(UInt8(ascii: "-")) }
    if magnitude < 10 {
        buffer.append(UInt8(ascii: "0") + UInt8(magnitude))
        return
    }
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
        var start = 20
        while magnitude > 0 {
            start -= 1
            digits[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
    }
}

/// A value that can be one argument of a ``RedisCommand``.
public protocol RedisArgument: Sendable {
    /// Appends this value's wire bytes to `buffer`.
    func appendRedisBytes(to buffer: inout [UInt8])
}

extension String: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Substring: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
}

extension Int: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { appendDecimal(Int64(self), to: &buffer) }
}

extension Int64: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) { appendDecimal(self, to: &buffer) }
}

extension Double: RedisArgument {
    public func appendRedisBytes(to buffer: inout [UInt8]) {
        // Redis parses with strtod; Swift's description round-trips exactly.
        buffer.append(contentsOf: String(self).utf8)
    }
}

extension Array: RedisArgument where Element == UInt8 {
    public func appendRedisBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}
