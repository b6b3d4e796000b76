import RedisClient

/// The one error type of FraudCore: a code to branch on, one line for people, and the error behind
/// it when there is one. The command line turns any of them into that line and ``exitCode``.
public struct FraudError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short stable name, such as `invalidSetting`.
        public let name: String
        /// The process exit code a command ends with for this kind of failure.
        public let exitCode: Int32
        init(_ name: String, exitCode: Int32) {
            self.name = name
            self.exitCode = exitCode
        }
        public var description: String { name }
        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.name == rhs.name }
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }

        /// A flag, environment variable or combination of settings is invalid (exit 64, `EX_USAGE`).
        public static let invalidSetting = Code("invalidSetting", exitCode: 64)
        /// Input data (a world file, a training set) cannot be used (exit 65, `EX_DATAERR`).
        public static let invalidData = Code("invalidData", exitCode: 65)
        /// A model, its parameters or its training data fail validation (exit 65).
        public static let invalidModel = Code("invalidModel", exitCode: 65)
        /// No usable model is stored (missing, corrupt, or built for other features) (exit 66, `EX_NOINPUT`).
        public static let modelUnavailable = Code("modelUnavailable", exitCode: 66)
        /// Something asked for by name (a run, a suite) does not exist (exit 66).
        public static let notFound = Code("notFound", exitCode: 66)
        /// Redis is unreachable, refused the credentials, or failed a call (exit 69, `EX_UNAVAILABLE`).
        public static let redis = Code("redis", exitCode: 69)
        /// PostgreSQL (the decision archive) is unreachable, refused the credentials, or failed a statement (exit 69).
        public static let postgres = Code("postgres", exitCode: 69)
        /// Redis is reachable but cannot run FraudStream (too old, missing commands) (exit 69).
        public static let unsupportedServer = Code("unsupportedServer", exitCode: 69)
        /// A worker stopped (shutdown timeout, or a stage that failed for good) with entries read but not
        /// acknowledged; they stay pending for another worker to claim (exit 75, `EX_TEMPFAIL`).
        public static let stoppedWithPending = Code("stoppedWithPending", exitCode: 75)
        /// An operation finished but its outcome is wrong (a load test left work undone) (exit 1).
        public static let failedCheck = Code("failedCheck", exitCode: 1)
        /// A command refused to delete live state (feature state of a namespace that has served traffic) without the
        /// flag that asks for it (exit 77, `EX_NOPERM`).
        public static let liveStateProtected = Code("liveStateProtected", exitCode: 77)
        /// Another live worker holds the consumer name's lease (exit 75, `EX_TEMPFAIL`: try again later or use another name).
        public static let consumerNameInUse = Code("consumerNameInUse", exitCode: 75)
        /// A running worker found its consumer name's lease taken by another worker and stopped (exit 75).
        public static let leaseLost = Code("leaseLost", exitCode: 75)
    }

    /// What went wrong.
    public var code: Code
    /// One line for people.
    public var message: String
    /// The error behind this one, for logs.
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// Wraps a Redis client error, keeping its message as the line.
    public init(redis error: RedisError) {
        self.init(.redis, error.message, underlying: error)
    }

    /// A pipeline stage's failure that retrying cannot fix, said as what the stage was doing.
    public init(stage what: String, _ error: RedisError) {
        self.init(.redis, "\(what) failed: \(error.message)", underlying: error)
    }

    /// The process exit code for this error.
    public var exitCode: Int32 { code.exitCode }

    /// The line for people.
    public var description: String { message }
}
