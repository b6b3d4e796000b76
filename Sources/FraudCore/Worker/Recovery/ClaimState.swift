/// Decides, read by read, where the consumer's next entries come from: its own pending entries
/// (after a restart or a lost reply), entries idle too long in other consumers (`XAUTOCLAIM`), or
/// new entries (`XREADGROUP >`).
///
/// A value type whose events return actions, tested without Redis. Own pending entries are
/// recovered once each: the cursor moves past every recovered id, so entries already handed on
/// (and still pending while in flight) are never claimed again, which would count extra deliveries
/// and push them toward the `--max-deliveries` dead letter.
///
/// With `removesIdleConsumers`, each `XAUTOCLAIM` is followed (on the next read) by one removal of dead
/// consumers, so that costs one `XINFO CONSUMERS` per claim interval and nothing per read.
public struct ClaimState: Sendable, Equatable {
    /// How often other consumers' idle entries are looked for, in milliseconds.
    public let autoClaimIntervalMilliseconds: Int64
    /// Whether dead consumers are removed at the claim interval.
    public let removesIdleConsumers: Bool
    private var idleConsumerRemovalDue = false
    /// `true` while own pending entries are being recovered.
    public private(set) var recoveringOwn = true
    /// The `XPENDING` start of the next own recovery read (`-`, or `(<id>` for after an id).
    public private(set) var ownCursor = "-"
    /// The `XAUTOCLAIM` start of the next scan.
    public private(set) var autoClaimCursor = "0-0"
    private var nextAutoClaimAtMilliseconds: Int64 = 0
    private var highestNewId: String?

    /// Where the next entries come from.
    public enum Action: Sendable, Equatable {
        /// `XPENDING` of this consumer's entries from `start`, then `XCLAIM` of them.
        case recoverOwn(start: String)
        /// `XAUTOCLAIM` from `start`.
        case autoClaim(start: String)
        /// `XREADGROUP … >`.
        case readNew
        /// Remove consumers that are idle, hold nothing pending and have no live lease (`XINFO CONSUMERS`,
        /// then ``RemoveIdleConsumersCall``), then ask again.
        case removeIdleConsumers
    }

    /// Starts with a recovery of own pending entries (a restarted consumer with the same name).
    public init(autoClaimIntervalMilliseconds: Int, removesIdleConsumers: Bool = false) {
        self.autoClaimIntervalMilliseconds = Int64(max(1, autoClaimIntervalMilliseconds))
        self.removesIdleConsumers = removesIdleConsumers
    }

    /// The next read at `now` (milliseconds on any monotonic clock).
    public mutating func next(nowMilliseconds now: Int64) -> Action {
        if recoveringOwn { return .recoverOwn(start: ownCursor) }
        if idleConsumerRemovalDue {
            idleConsumerRemovalDue = false
            return .removeIdleConsumers
        }
        if now >= nextAutoClaimAtMilliseconds {
            nextAutoClaimAtMilliseconds = now + autoClaimIntervalMilliseconds
            idleConsumerRemovalDue = removesIdleConsumers
            return .autoClaim(start: autoClaimCursor)
        }
        return .readNew
    }

    /// An own recovery read returned entries up to `lastId`, or nothing (`nil`: recovery is done).
    public mutating func recoveredOwn(lastId: String?) {
        if let lastId {
            ownCursor = "(" + lastId
        } else {
            recoveringOwn = false
        }
    }

    /// An `XAUTOCLAIM` answered with the cursor for the next scan.
    public mutating func autoClaimed(nextStart: String) {
        autoClaimCursor = nextStart
    }

    /// A new read returned entries up to `lastId` (`nil` when it returned none).
    public mutating func readNew(lastId: String?) {
        if let lastId { highestNewId = lastId }
    }

    /// A read failed without a reply. A lost `XREADGROUP` reply may still have delivered entries
    /// into this consumer's pending list, all newer than anything read before: recover those, and
    /// only those. A failed recovery simply continues from where it was.
    public mutating func readFailed() {
        guard !recoveringOwn else { return }
        recoveringOwn = true
        ownCursor = highestNewId.map { "(" + $0 } ?? "-"
    }
}
