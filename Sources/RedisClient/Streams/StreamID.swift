/// A stream entry id, `<milliseconds>-<sequence>`, compared numerically (as Redis orders entries).
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The millisecond part: Redis's clock when the entry was appended (for `*` ids).
    public var milliseconds: UInt64
    /// The sequence number within that millisecond.
    public var sequence: UInt64

    /// Creates an id from its parts.
    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `<ms>-<seq>` (or a bare `<ms>`, which means sequence 0); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        if let dash = text.firstIndex(of: "-") {
            guard let milliseconds = UInt64(text[..<dash]), let sequence = UInt64(text[text.index(after: dash)...]) else {
                return nil
            }
            self.init(milliseconds: milliseconds, sequence: sequence)
        } else {
            guard let milliseconds = UInt64(text) else { return nil }
            self.init(milliseconds: milliseconds, sequence: 0)
        }
    }

    /// `<ms>-<seq>`, as Redis writes it.
    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.milliseconds, lhs.sequence) < (rhs.milliseconds, rhs.sequence)
    }

    /// The smallest and largest of `ids` in stream order (text kept as given), or `nil` when none parses.
    public static func bounds(of ids: some Sequence<String>) -> (lowest: String, highest: String)? {
        var lowest: (id: StreamID, text: String)?
        var highest: (id: StreamID, text: String)?
        for text in ids {
            guard let id = StreamID(text) else { continue }
            if lowest == nil || id < lowest!.id { lowest = (id, text) }
            if highest == nil || id > highest!.id { highest = (id, text) }
        }
        guard let lowest, let highest else { return nil }
        return (lowest.text, highest.text)
    }
}
