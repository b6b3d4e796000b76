/// A transaction to score with its stream entry id.
public struct BatchItem: Sendable {
    /// The input entry id.
    public var sourceId: String
    /// The parsed transaction.
    public var transaction: Transaction
    /// Its decision claim (``DecisionClaim``): the entry claims the transaction. Made once here, and used by the
    /// feature round trip (claim) and the write round trip (store), so the fingerprint is computed once per entry.
    public let claim: DecisionClaim

    /// An item for entry `sourceId`.
    public init(sourceId: String, transaction: Transaction) {
        self.sourceId = sourceId
        self.transaction = transaction
        self.claim = DecisionClaim(transaction, claimant: sourceId)
    }
}
