import RedisClient

/// `fs_device_events`: how many events one device had in the click-spam window before this one.
///
/// Idempotent per transaction id: a redelivered transaction is already in the device's set and is not
/// counted again. The key and argument order is defined by ``Key`` and ``Argument``; the reply is one integer.
public struct DeviceEventsCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_device_events"
    /// Events are kept at least this long, whatever the click-spam window.
    public static let minimumRetentionMilliseconds = 60_000

    /// Number of keys the call passes.
    public static let keyCount = Key.allCases.count

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// `<ns>:{device:<id>}:events`: the device's transaction ids scored by event time.
        case events = 1
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// Event time in ms.
        case eventTimeMilliseconds = 1
        /// The transaction id (the set's member).
        case transactionId
        /// `(ts-window`: exclusive lower bound of the click-spam window.
        case windowStart
        /// `ts-retention`: events at or before it are removed.
        case retentionBound
        /// The key's TTL in ms, set when the event is new.
        case keyTTLMilliseconds
    }

    private static let argumentOrder = Argument.allCases

    /// Key names.
    public let keys: FeatureKeys
    /// The click-spam window in ms.
    public let windowMilliseconds: Int
    /// How long events are kept: the window, and at least ``minimumRetentionMilliseconds``.
    public var retentionMilliseconds: Int { max(Self.minimumRetentionMilliseconds, windowMilliseconds) }

    /// Creates the call for the keys and click-spam window of `settings`.
    public init(settings: FeatureSettings) {
        keys = FeatureKeys(namespace: settings.namespace)
        windowMilliseconds = Int(BuiltInFeatures.deviceWindowMilliseconds(settings))
    }

    /// `FCALL fs_device_events` for `transaction` on `device`.
    public func command(device: String, _ transaction: Transaction) -> RedisCommand {
        let ts = transaction.timestampMilliseconds
        var command = RedisCommand("FCALL", Self.function, Self.keyCount)
        command.append(keys.deviceEvents(device))
        for argument in Self.argumentOrder {
            switch argument {
            case .eventTimeMilliseconds: command.append(ts)
            case .transactionId: command.append(transaction.transactionId)
            case .windowStart: command.append(marker: "(", ts - Int64(windowMilliseconds))
            case .retentionBound: command.append(ts - Int64(retentionMilliseconds))
            case .keyTTLMilliseconds: command.append(2 * retentionMilliseconds)
            }
        }
        return command
    }

    /// The device's earlier events in the window.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> Int {
        guard case .integer(let count) = try reply.get() else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return Int(count)
    }
}
