import Foundation
import RedisClient

/// `fs_bloom_unlist`: unlists several items for the sources in a mask, as ``BloomRemoveCall`` does each, and appends one
/// audit entry naming the items it removed, in the same call. The audit log therefore says exactly what was removed,
/// and a failure between the change and its record cannot happen. The reply is an array with one 0/1 per item.
public struct BloomUnlistCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_bloom_unlist"

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based); all three share the counters' hash slot.
    public enum Key: Int, CaseIterable, Sendable {
        case counters = 1
        case members = 2
        /// The audit stream `<ns>:audit:{<counters>}`.
        case audit = 3
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The source mask (``BloomItemCall/Source``).
        case source = 1
        /// Counter offsets per item (the shape's k).
        case hashesPerItem = 2
        /// The audit stream's `MINID` bound (now − retention, ms).
        case auditMinimumId = 3
        case actor = 4
        case action = 5
        case change = 6
        case requestId = 7
        case timeMilliseconds = 8
        case timeMicroseconds = 9
        /// The first item, followed by its k offsets, then the next item.
        case firstItem = 10
    }

    /// The key and shape.
    public let layout: BloomItemCall

    /// Creates the call for the filter whose counters are in `counters`.
    public init(counters: String, shape: BloomFilterShape) {
        layout = BloomItemCall(counters: counters, shape: shape)
    }

    /// `FCALL fs_bloom_unlist` for `items`, recorded as `entry` (its target is filled in by the function) in `audit`.
    public func command(_ items: some Collection<String>, source: BloomItemCall.Source = .any, entry: AuditLog.Entry, audit: AuditLog) -> RedisCommand {
        let stamp = AuditLog.Stamp(retentionDays: audit.retentionDays)
        var command = RedisCommand(
            "FCALL", Self.function, Self.keyCount, layout.counters, layout.members, audit.stream(tag: layout.counters),
            source.rawValue, layout.shape.hashes, stamp.minimumId, entry.actor, entry.action, entry.change, entry.requestId,
            stamp.milliseconds, stamp.microseconds)
        var scratch: [Int] = []
        for item in items {
            command.append(item)
            layout.shape.appendCounterArguments(item, to: &command, scratch: &scratch)
        }
        return command
    }

    /// Whether each of `count` items was removed.
    public static func decode(_ reply: RESPValue, count: Int) throws(RedisError) -> [Bool] {
        guard case .array(let values) = try reply.get(), values.count == count else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        var removed: [Bool] = []
        removed.reserveCapacity(count)
        for value in values {
            guard case .integer(let flag) = value, flag == 0 || flag == 1 else {
                throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
            }
            removed.append(flag == 1)
        }
        return removed
    }
}
