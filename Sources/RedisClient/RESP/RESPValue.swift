/// One RESP2 reply from Redis, copied out of hiredis into Swift memory.
///
/// Arrays may nest (for example `XREADGROUP` and `XAUTOCLAIM` replies). A nil bulk string and a
/// nil array both become ``null``.
public enum RESPValue: Sendable, Hashable {
    /// A status reply such as `+OK` or `+QUEUED`.
    case simpleString(String)
    /// An error reply such as `-ERR unknown command`; the text is Redis's message.
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A binary-safe bulk string.
    case bulkString([UInt8])
    /// A nil bulk string or nil array.
    case null
    /// An array of replies, possibly nested.
    indirect case array([RESPValue])
}

extension RESPValue {
    /// `true` for ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// `true` for an ``error(_:)`` reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// The text of a bulk string or status reply (UTF-8, lossy), or the decimal text of an integer.
    public var string: String? {
        switch self {
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .simpleString(let text): return text
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The raw bytes of a bulk string or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// An integer reply, or a bulk string that holds a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let value): return Int(value)
        case .bulkString(let bytes): return Int(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let text): return Int(text)
        default: return nil
        }
    }

    /// A bulk string or status holding a floating-point number (as `ZSCORE` and `INCRBYFLOAT` return), or an integer.
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .bulkString(let bytes): return Double(String(decoding: bytes, as: UTF8.self))
        case .simpleString(let text): return Double(text)
        default: return nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Returns the reply itself, or throws ``RedisError`` with code ``RedisError/Code/serverError`` for an error reply.
    public func get() throws(RedisError) -> RESPValue {
        if case .error(let message) = self {
            if message.hasPrefix("NOAUTH") {
                throw RedisError(
                    code: .authenticationFailed,
                    message: "Redis requires a password: set REDIS_PASSWORD or put it in REDIS_URL (redis://:password@host:port)")
            }
            if message.hasPrefix("WRONGPASS") {
                throw RedisError(code: .authenticationFailed, message: message)
            }
            throw RedisError.server(message)
        }
        return self
    }

    /// A flat array of `field, value, …` (as `XINFO` returns per group or consumer) as a dictionary of
    /// replies, so integer fields stay integers; `nil` when this is not such an array.
    public var fieldMap: [String: RESPValue]? {
        guard let pairs = array, pairs.count % 2 == 0 else { return nil }
        var fields: [String: RESPValue] = [:]
        fields.reserveCapacity(pairs.count / 2)
        var index = 0
        while index + 1 < pairs.count {
            if let key = pairs[index].string { fields[key] = pairs[index + 1] }
            index += 2
        }
        return fields
    }

    /// A flat array of `field, value, field, value` (as `HGETALL` and stream entries return) as a dictionary of strings.
    public var stringPairs: [String: String]? {
        guard let elements = array, elements.count % 2 == 0 else { return nil }
        var result: [String: String] = [:]
        result.reserveCapacity(elements.count / 2)
        var index = 0
        while index < elements.count {
            if let key = elements[index].string, let value = elements[index + 1].string {
                result[key] = value
            }
            index += 2
        }
        return result
    }
}

extension RESPValue: CustomStringConvertible {
    /// A readable rendering, close to what `redis-cli` prints.
    public var description: String {
        switch self {
        case .simpleString(let text): return text
        case .error(let message): return "(error) \(message)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(let bytes): return "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .null: return "(nil)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
