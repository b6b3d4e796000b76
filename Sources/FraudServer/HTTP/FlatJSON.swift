/// A small JSON reader for request bodies: objects, arrays, strings (with every escape), numbers (kept as their
/// text), booleans and null. The scoring API reads flat transaction objects at thousands per second, and
/// Foundation's `JSONDecoder` with a `Decodable` per scalar (which throws for every type it tries that does not
/// match) was a tenth of the server's CPU.
enum FlatJSON {
    /// One member of an object.
    struct Member {
        /// The name.
        var name: String
        /// The value.
        var value: Value
    }

    /// A parsed value.
    indirect enum Value {
        case object([Member])
        case array([Value])
        case string(String)
        /// A number, as written.
        case number(String)
        case bool(Bool)
        case null

        /// The value as stream-field text: strings as they are, numbers as written, booleans `1`/`0`; `nil` for
        /// null, objects and arrays (a transaction's fields are scalars).
        var fieldText: String? {
            switch self {
            case .string(let text), .number(let text): return text
            case .bool(let flag): return flag ? "1" : "0"
            case .null, .object, .array: return nil
            }
        }
    }

    /// Why a body is not JSON, with the byte offset.
    struct SyntaxError: Error, Equatable {
        var offset: Int
        var problem: String
        var description: String { "\(problem) at byte \(offset)" }
    }

    /// Deepest nesting accepted (a transaction is one level; a batch two).
    static let maximumDepth = 32

    /// Parses a whole document.
    static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> Value {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.position == bytes.count else { throw SyntaxError(offset: reader.position, problem: "unexpected text after the value") }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x09, 0x0A, 0x0D: position += 1
                default: return
                }
            }
        }

        func fail(_ problem: String) -> SyntaxError { SyntaxError(offset: position, problem: problem) }

        mutating func value(depth: Int) throws(SyntaxError) -> Value {
            guard position < bytes.count else { throw fail("unexpected end of the body") }
            switch bytes[position] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
            default: throw fail("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) throws(SyntaxError) {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { throw fail("unexpected end of the body") }
            for index in 0..<count where bytes[position + index] != word.utf8Start[index] { throw fail("invalid literal") }
            position += count
        }

        mutating func object(depth: Int) throws(SyntaxError) -> Value {
            guard depth <= FlatJSON.maximumDepth else { throw fail("nesting deeper than \(FlatJSON.maximumDepth)") }
            position += 1
            var members: [Member] = []
            skipSpace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let name = try string()
                skipSpace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                skipSpace()
                members.append(Member(name: name, value: try value(depth: depth)))
                skipSpace()
                guard position < bytes.count else { throw fail("unexpected end of the body") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    return .object(members)
                } else {
                    throw fail("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> Value {
            guard depth <= FlatJSON.maximumDepth else { throw fail("nesting deeper than \(FlatJSON.maximumDepth)") }
            position += 1
            var elements: [Value] = []
            skipSpace()
            if position < bytes.count && bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            }
            while true {
                skipSpace()
                elements.append(try value(depth: depth))
                skipSpace()
                guard position < bytes.count else { throw fail("unexpected end of the body") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                } else if bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    return .array(elements)
                } else {
                    throw fail("expected ',' or ']'")
                }
            }
        }

        mutating func number() throws(SyntaxError) -> String {
            let start = position
            if bytes[position] == UInt8(ascii: "-") { position += 1 }
            func digits(_ reader: inout Reader) -> Int {
                let from = reader.position
                while reader.position < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.position]) {
                    reader.position += 1
                }
                return reader.position - from
            }
            let integer = digits(&self)
            guard integer > 0 else { throw fail("invalid number") }
            if integer > 1 && bytes[position - integer] == UInt8(ascii: "0") { throw fail("leading zero in a number") }
            if position < bytes.count && bytes[position] == UInt8(ascii: ".") {
                position += 1
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            if position < bytes.count && (bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E")) {
                position += 1
                if position < bytes.count && (bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-")) { position += 1 }
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func string() throws(SyntaxError) -> String {
            position += 1
            let start = position
            // Fast path: no escapes.
            while position < bytes.count {
                let byte = bytes[position]
                if byte == UInt8(ascii: "\"") {
                    guard let text = String(validating: bytes[start..<position], as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                    position += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw fail("control character in a string") }
                position += 1
            }
            var scalars = Array(bytes[start..<position])
            while position < bytes.count {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    guard let text = String(validating: scalars, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                    return text
                case UInt8(ascii: "\\"):
                    position += 1
                    guard position < bytes.count else { throw fail("unexpected end of the body") }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code) {
                            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            position += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00..<0xE000).contains(code) {
                            throw fail("unpaired surrogate")
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("invalid escape") }
                        scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default:
                        throw fail("invalid escape")
                    }
                default:
                    if byte < 0x20 { throw fail("control character in a string") }
                    scalars.append(byte)
                    position += 1
                }
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("unexpected end of the body") }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("invalid \\u escape")
                }
                code = code * 16 + digit
                position += 1
            }
            return code
        }
    }
}
