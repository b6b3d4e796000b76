/// An entry that goes to the dead-letter stream.
public struct DeadLetter: Sendable {
    /// The input entry id.
    public var sourceId: String
    /// Why.
    public var reason: String
    /// The run it belonged to, when its fields say.
    public var runId: String
    /// The original fields.
    public var fields: [(String, String)]
    /// The reason's class, a short stable code (`missing_field`, `invalid_amount`, `max_deliveries`,
    /// `implausible_timestamp`, …): the metrics label, where the reason text would be unbounded.
    public var kind: String

    /// Creates a dead letter.
    public init(sourceId: String, reason: String, runId: String, fields: [(String, String)], kind: String = "other") {
        self.sourceId = sourceId
        self.reason = reason
        self.runId = runId
        self.fields = fields
        self.kind = kind
    }
}
