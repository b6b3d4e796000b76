import Logging
import RedisClient
import ServiceLifecycle

/// The loop the model, rule and shadow watchers share: every interval (first at once) it reads the version
/// wanted in Redis, and when it differs from the one in use hands it over (the scorer switches between
/// batches). A version that cannot be used is logged once and skipped until another is wanted; Redis outages
/// are logged once and retried.
struct VersionPoller: Sendable {
    /// What no version wanted means.
    enum WhenNone: Sendable {
        /// Nothing to do (no model promoted yet).
        case keep
        /// Stop using one (no shadow model).
        case clear
    }

    /// What is polled, for logs ("model check").
    let what: String
    let intervalMilliseconds: Int
    let logger: Logger

    /// Polls until graceful shutdown. `install` gets the version wanted (nil only with `.clear`) and throws an
    /// error `isRejection` accepts for a version that cannot be used. A rejected version is tried again once
    /// `context` changes (rules that read a feature are rejected until the feature set defining it is installed).
    func run(
        whenNone: WhenNone,
        wanted: @Sendable () async throws -> Int?,
        current: @Sendable () async -> Int?,
        install: @Sendable (Int?) async throws -> Void,
        isRejection: @Sendable (any Error) -> Bool,
        context: (@Sendable () -> Int)? = nil
    ) async {
        var rejected: Int?
        var rejectedIn = context?()
        var outage = OutageLog(what)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if let context, context() != rejectedIn {
                rejected = nil
                rejectedIn = context()
            }
            do {
                let version = try await wanted()
                outage.succeeded(logger: logger)
                if version != nil || whenNone == .clear, version != (await current()), version == nil || version != rejected {
                    do {
                        try await install(version)
                    } catch where isRejection(error) {
                        rejected = version
                        logger.error("\(what): version rejected; keeping the current one", metadata: ["version": "\(version ?? 0)", "error": "\(error)"])
                    }
                }
            } catch {
                if Task.isCancelled { return }
                outage.failed(error, logger: logger)
            }
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
        }
    }
}
