import RedisClient

/// One decision per transaction, on both paths and across them.
///
/// Each arrival of a transaction claims its decision key, `<ns>:{<user>}:decision:<transaction_id>` (the user's hash
/// tag: one slot with the user's features), with `SET … NX GET` in the same pipeline as its feature calls, so it costs
/// no extra round trip. The value names the contract fields' fingerprint and the arrival (a stream entry id, or the
/// scoring API's request number), and once the arrival has decided, the decision (``StoredDecision``). What the key
/// held before tells the arrival what it is:
/// - nothing: the **first** arrival; it decides, and stores its decision over its claim;
/// - its own claim: the **same** arrival again (a redelivered stream entry); it decides again, and the feature
///   functions count nothing twice (they recognise a transaction already in the user's window);
/// - another arrival's claim with the same fingerprint: a **duplicate** (an `XADD` retried, an API retry, the same
///   transaction on the other path); it gets the first decision, or waits for it, and changes nothing;
/// - another fingerprint: a **conflict** (same id, other contract fields); refused, the first decision stands.
///
/// "The same transaction" is the same `transaction_id` for the same `user_id` within the retention
/// (`IDEMPOTENCY_TTL`, 24 h); the fingerprint covers `amount`, `merchant_id`, `currency`, `card_provider`,
/// `merchant_category`, `lat`, `lon`, `device_id` and `ip` (not `timestamp`, which the API may fill in, nor `run_id` or
/// the label).
public struct DecisionClaim: Sendable, Equatable {
    /// What an arrival is, from what its decision key held.
    public enum Status: Sendable, Equatable {
        /// The first arrival: it decides.
        case first
        /// The same arrival again (a redelivery): it decides again, counting nothing twice.
        case again
        /// An earlier arrival decided (its decision), or is deciding (`nil`).
        case duplicate(StoredDecision?)
        /// Same id, other contract fields.
        case conflict
    }

    /// The contract fields' fingerprint.
    public let fingerprint: String
    /// Who claims: a stream entry id, or `api:<server>:<n>`.
    public let claimant: String

    /// The claim of `transaction` by `claimant`.
    public init(_ transaction: Transaction, claimant: String) {
        self.fingerprint = Self.fingerprint(of: transaction)
        self.claimant = claimant
    }

    /// FNV-1a (64 bit, hex) of the fields that make a transaction the same one. Numbers are mixed as their bit patterns
    /// and text as its bytes, with no string built on the way: it runs once per transaction on the worker's hot path.
    public static func fingerprint(of transaction: Transaction) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x100_0000_01b3
        func mix(byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* prime
        }
        func mix(_ text: String) {
            for byte in text.utf8 { mix(byte: byte) }
            mix(byte: 0x1f)
        }
        func mix(_ number: Double?) {
            guard let number else { return mix(byte: 0x1e) }
            var bits = number.bitPattern
            for _ in 0..<8 {
                mix(byte: UInt8(truncatingIfNeeded: bits))
                bits >>= 8
            }
            mix(byte: 0x1f)
        }
        mix(transaction.transactionId)
        mix(transaction.userId)
        mix(transaction.amount)
        mix(transaction.merchantId)
        mix(transaction.currency)
        mix(transaction.cardProvider ?? "")
        mix(transaction.merchantCategory ?? "")
        mix(transaction.latitude)
        mix(transaction.longitude)
        mix(transaction.deviceId ?? "")
        mix(transaction.ip ?? "")
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8](repeating: 0, count: 16)
        for index in 0..<16 { hex[15 - index] = digits[Int((hash >> (UInt64(index) * 4)) & 0xf)] }
        return String(decoding: hex, as: UTF8.self)
    }

    /// `SET <key> <claim> NX GET PX <ttl>`: claims the key when it is free, and returns what it held.
    public func command(key: String, ttlMilliseconds: Int) -> RedisCommand {
        RedisCommand("SET", key, StoredDecision(fingerprint: fingerprint, claimant: claimant).text, "NX", "GET", "PX", ttlMilliseconds)
    }

    /// What the arrival is, from the reply to ``command(key:ttlMilliseconds:)``.
    public func status(_ reply: RESPValue) throws(RedisError) -> Status {
        switch reply {
        case .null: return .first
        case .error(let message): throw RedisError(code: .serverError, message: message)
        default:
            guard let bytes = reply.bytes, let held = StoredDecision(text: String(decoding: bytes, as: UTF8.self)) else {
                return .duplicate(nil)  // a key of an older layout: decided, the decision not readable
            }
            if held.fingerprint != fingerprint { return .conflict }
            if held.claimant == claimant { return .again }
            return .duplicate(held.decision == nil ? nil : held)
        }
    }

    /// `SET <key> <decision> PX <ttl>`: the arrival's decision over its claim. With `overClaimOnly`, `XX`: written only
    /// while the key holds the claim (or the same decision, on a retry), never into a Redis that lost it since.
    public func storeCommand(key: String, decision: ScoredDecision, degraded: Bool, ttlMilliseconds: Int, overClaimOnly: Bool = false) -> RedisCommand {
        var command = RedisCommand(
            "SET", key, StoredDecision(fingerprint: fingerprint, claimant: claimant, decision: decision, degraded: degraded).text,
            "PX", ttlMilliseconds)
        if overClaimOnly { command.append("XX") }
        return command
    }
}

/// What a decision key holds: the claim and, once decided, the decision, as one line of text:
/// `v1|<fingerprint>|<claimant>|<score>|<is_fraud>|<decision>|<reasons>|<model version>|<degraded>` (only the first
/// three fields while the claimant decides).
public struct StoredDecision: Sendable, Equatable {
    /// The contract fields' fingerprint.
    public var fingerprint: String
    /// Who decided (or is deciding).
    public var claimant: String
    /// The decision, once made.
    public var decision: ScoredDecision?
    /// Whether it was a degraded answer.
    public var degraded: Bool

    /// A claim, or a decision.
    public init(fingerprint: String, claimant: String, decision: ScoredDecision? = nil, degraded: Bool = false) {
        self.fingerprint = fingerprint
        self.claimant = claimant
        self.decision = decision
        self.degraded = degraded
    }

    /// The text stored.
    public var text: String {
        guard let decision else { return "v1|\(fingerprint)|\(claimant)|" }
        // The score with six decimals, as the results stream has it (and without Double's description, which is dear).
        return "v1|\(fingerprint)|\(claimant)|\(WriteBatchCall.scoreText(decision.score))|\(decision.isFraud ? 1 : 0)|\(decision.decision)|"
            + "\(decision.reasons)|\(decision.modelVersion)|\(degraded ? 1 : 0)"
    }

    /// Parses ``text``; `nil` for anything else.
    public init?(text: String) {
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0] == "v1" else { return nil }
        fingerprint = String(parts[1])
        claimant = String(parts[2])
        degraded = false
        decision = nil
        if parts.count == 9, let score = Double(parts[3]), let model = Int(parts[7]) {
            decision = ScoredDecision(
                score: score, isFraud: parts[4] == "1", decision: String(parts[5]), reasons: String(parts[6]), modelVersion: model)
            degraded = parts[8] == "1"
        }
    }
}
