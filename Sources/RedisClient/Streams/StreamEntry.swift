/// One stream entry as `XRANGE`, `XREADGROUP`, `XCLAIM` and `XAUTOCLAIM` return it.
public struct StreamEntry: Sendable {
    /// The entry id (`<ms>-<seq>`).
    public var id: String
    /// The fields in stream order; empty when the entry was deleted while still pending.
    public var fields: [(String, String)]
    /// Names of the fields whose values were not valid UTF-8 (their text above has U+FFFD in place of the bad
    /// bytes); empty in the usual case.
    public var invalidUTF8Fields: [String] = []

    /// Creates an entry.
    public init(id: String, fields: [(String, String)]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field called `name`.
    public func value(of name: String) -> String? {
        fields.first { $0.0 == name }?.1
    }

    /// Decodes `[id, [f, v, …]]`; a deleted entry (`nil`, or `[id, nil]`) decodes with no fields, or `nil` without an id.
    public init?(resp: RESPValue) {
        guard let parts = resp.array, let id = parts.first?.string else { return nil }
        var fields: [(String, String)] = []
        if parts.count > 1, let flat = parts[1].array {
            fields.reserveCapacity(flat.count / 2)
            var index = 0
            var invalid: [String] = []
            while index + 1 < flat.count {
                let name = flat[index].string ?? ""
                // One validation in the usual case; a value that is not UTF-8 is kept repaired and named.
                if case .bulkString(let bytes) = flat[index + 1], String(validating: bytes, as: UTF8.self) == nil {
                    invalid.append(name)
                    fields.append((name, String(decoding: bytes, as: UTF8.self)))
                } else {
                    fields.append((name, flat[index + 1].string ?? ""))
                }
                index += 2
            }
            self.init(id: id, fields: fields)
            invalidUTF8Fields = invalid
            return
        }
        self.init(id: id, fields: fields)
    }

    /// Decodes a list of entries, skipping elements that are not entries.
    public static func list(_ resp: RESPValue) -> [StreamEntry] {
        (resp.array ?? []).compactMap(StreamEntry.init(resp:))
    }
}
