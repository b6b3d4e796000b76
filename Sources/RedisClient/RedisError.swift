/// The one error type of the Redis client: a code to branch on, a message for people, and detail.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable name, such as `connectionRefused`.
        public let name: String
        init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Nothing listens at the address (TCP RST or a missing Unix socket).
        public static let connectionRefused = Code("connectionRefused")
        /// Connecting or a command took longer than its timeout.
        public static let timeout = Code("timeout")
        /// The connection broke while a command was under way; see ``RedisError/unconfirmedCommands``.
        public static let connectionLost = Code("connectionLost")
        /// Any other failure to connect (DNS, unreachable network).
        public static let connectionFailed = Code("connectionFailed")
        /// Redis answered with an error reply; ``RedisError/message`` is Redis's text.
        public static let serverError = Code("serverError")
        /// The bytes from the server were not valid RESP.
        public static let protocolError = Code("protocolError")
        /// `AUTH` was refused, or the server wants a password that was not given.
        public static let authenticationFailed = Code("authenticationFailed")
        /// A `REDIS_URL` or another setting could not be understood.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// The calling task was cancelled; the socket was shut down to interrupt the call.
        public static let cancelled = Code("cancelled")
        /// A reply had a shape the caller did not expect.
        public static let unexpectedReply = Code("unexpectedReply")
        /// One command's keys are in different hash slots of a Redis Cluster (found before sending).
        public static let crossSlot = Code("crossSlot")
        /// A cluster kept redirecting a command (`MOVED`/`ASK`) or has no node serving its slot.
        public static let clusterRouting = Code("clusterRouting")
    }

    /// What went wrong.
    public var code: Code
    /// One line for people.
    public var message: String
    /// The OS error number behind an I/O failure, when there is one.
    public var errno: Int32?
    /// For ``Code/connectionLost``, ``Code/timeout`` and ``Code/cancelled`` during a pipeline: the indices of
    /// commands that were sent but whose replies never arrived. They may or may not have run on the server.
    public var unconfirmedCommands: Range<Int>
    /// The replies that did arrive before the failure, in command order.
    public var partialReplies: [RESPValue]

    /// Creates an error.
    public init(
        code: Code,
        message: String,
        errno: Int32? = nil,
        unconfirmedCommands: Range<Int> = 0..<0,
        partialReplies: [RESPValue] = []
    ) {
        self.code = code
        self.message = message
        self.errno = errno
        self.unconfirmedCommands = unconfirmedCommands
        self.partialReplies = partialReplies
    }

    /// An error reply from Redis.
    public static func server(_ message: String) -> RedisError {
        RedisError(code: .serverError, message: message)
    }

    /// The first word of a server error (`ERR`, `WRONGTYPE`, `NOAUTH`, `BUSYGROUP`, …), if this is one.
    public var serverErrorPrefix: String? {
        guard code == .serverError else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// `true` when retrying on a fresh connection may succeed.
    public var isConnectionFailure: Bool {
        [.connectionRefused, .timeout, .connectionLost, .connectionFailed].contains(code)
    }

    /// `true` when the same operation may succeed if tried again: the connection failed, or the
    /// server answered that it cannot serve right now (`LOADING` a dataset, `BUSY` running a script,
    /// `TRYAGAIN`, `MASTERDOWN`, `CLUSTERDOWN`).
    public var isTransient: Bool {
        if isConnectionFailure { return true }
        guard let prefix = serverErrorPrefix else { return false }
        return Self.transientServerErrors.contains(prefix)
    }

    static let transientServerErrors: Set<String> = ["LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN"]

    public var description: String { message }
}
