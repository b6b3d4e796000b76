/// A transaction to score with its stream entry id.
public struct BatchItem: Sendable {
    /// The input entry id.
    public var sourceId: String
    /// The parsed transaction.
    public var transaction: Transaction
}
