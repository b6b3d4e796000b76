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
}
