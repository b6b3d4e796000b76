import RedisClient

/// One entry read from the input stream.
public struct StreamEntry: Sendable {
    /// The entry id (`<ms>-<seq>`), Redis's append time.
    public var id: String
    /// The fields in stream order; empty when the entry was deleted while pending.
    public var fields: [(String, String)]
    /// How often this entry has been delivered, when known (claims); 1 for fresh reads.
    public var deliveries: Int

    /// Creates an entry.
    public init(id: String, fields: [(String, String)], deliveries: Int = 1) {
        self.id = id
        self.fields = fields
        self.deliveries = deliveries
    }

    /// The smallest and largest stream ids (`<ms>-<seq>`), compared numerically.
    static func idBounds(_ ids: [String]) -> (lowest: String, highest: String) {
        func key(_ id: String) -> (Int64, Int64) {
            let parts = id.split(separator: "-")
            return (Int64(parts.first ?? "0") ?? 0, Int64(parts.last ?? "0") ?? 0)
        }
        var lowest = ids.first ?? "0-0"
        var highest = lowest
        var lowestKey = key(lowest)
        var highestKey = lowestKey
        for id in ids.dropFirst() {
            let current = key(id)
            if current < lowestKey { lowest = id; lowestKey = current }
            if current > highestKey { highest = id; highestKey = current }
        }
        return (lowest, highest)
    }

    /// Parses the entries of an `XREADGROUP`/`XCLAIM` reply: `[[id, [f, v, …]], …]`.
    static func parseList(_ reply: [RESPValue]) -> [StreamEntry] {
        reply.compactMap { element -> StreamEntry? in
            guard let parts = element.array, parts.count == 2, let id = parts[0].string else { return nil }
            var fields: [(String, String)] = []
            if let flat = parts[1].array {
                fields.reserveCapacity(flat.count / 2)
                var index = 0
                while index + 1 < flat.count {
                    fields.append((flat[index].string ?? "", flat[index + 1].string ?? ""))
                    index += 2
                }
            }
            return StreamEntry(id: id, fields: fields)
        }
    }
}
