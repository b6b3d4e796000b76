import RedisClient

/// `fs_remove_idle_consumers`: `XGROUP DELCONSUMER` of the candidates that, at the moment of the call,
/// are idle at least a bound, hold no pending entries and have no live lease.
///
/// The candidates come from `XINFO CONSUMERS`; the function checks every condition again atomically,
/// because deleting a consumer drops its pending entries, and a consumer may have read in between.
public struct RemoveIdleConsumersCall: Sendable {
    /// The function's name in ``FunctionLibrary/lease``.
    public static let function = "fs_remove_idle_consumers"

    /// The keys by their position in `KEYS` (1-based).
    public enum Key: Int, CaseIterable, Sendable {
        /// The input stream.
        case stream = 1
        /// The first candidate's lease key, then one per further candidate.
        case firstLease
    }

    /// The arguments by their position in `ARGV` (1-based).
    public enum Argument: Int, CaseIterable, Sendable {
        /// The consumer group.
        case group = 1
        /// Least idle time, in milliseconds, of a consumer that may be removed.
        case minimumIdleMilliseconds
        /// The first candidate's name, then one per further candidate (in the order of the lease keys).
        case firstConsumer
    }

    /// The input stream, group and namespace the consumers and their leases belong to.
    public let streams: StreamNames
    /// Least idle time of a consumer that may be removed.
    public let minimumIdleMilliseconds: Int

    /// Creates the call for the group of `streams`.
    public init(streams: StreamNames, minimumIdleMilliseconds: Int) {
        self.streams = streams
        self.minimumIdleMilliseconds = minimumIdleMilliseconds
    }

    /// `FCALL fs_remove_idle_consumers` for `consumers`.
    public func command(consumers: [String]) -> RedisCommand {
        var command = RedisCommand("FCALL", Self.function, 1 + consumers.count)
        for key in Key.allCases {
            switch key {
            case .stream: command.append(streams.transactions)
            case .firstLease:
                for consumer in consumers { command.append(ConsumerLease.key(streams: streams, consumer: consumer)) }
            }
        }
        for argument in Argument.allCases {
            switch argument {
            case .group: command.append(streams.consumerGroup)
            case .minimumIdleMilliseconds: command.append(minimumIdleMilliseconds)
            case .firstConsumer: for consumer in consumers { command.append(consumer) }
            }
        }
        return command
    }

    /// The names removed.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> [String] {
        guard let names = try reply.get().array else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        return names.compactMap(\.string)
    }
}
