import Logging

/// Logs an outage once and its end once: the first failure of a run of failures is a warning, the
/// ones after it are debug lines, and the first success after them is a notice with how long it
/// lasted ("… recovered after 4.2 s").
///
/// Used by the retry loop and by the periodic services (model watcher, retention, statistics), so
/// a Redis restart gives two lines per activity, not one per attempt.
public struct OutageLog: Sendable {
    private let what: String
    private var startedAt: ContinuousClock.Instant?
    private var failures = 0

    /// Creates a log for one activity, named for people (`reading the input stream`).
    public init(_ what: String) { self.what = what }

    /// `true` while failures have not been followed by a success.
    public var isOutage: Bool { startedAt != nil }

    /// Records a failure; `detail` is added to the line (for example the retry wait).
    public mutating func failed(_ error: any Error, logger: Logger, detail: Logger.Metadata = [:]) {
        failures += 1
        var metadata = detail
        metadata["error"] = "\(error)"
        if startedAt == nil {
            startedAt = .now
            logger.warning("\(what) failed; retrying", metadata: metadata)
        } else {
            metadata["attempt"] = "\(failures)"
            logger.debug("\(what) still failing", metadata: metadata)
        }
    }

    /// Records a success; after an outage logs how long it lasted and how many attempts failed.
    public mutating func succeeded(logger: Logger) {
        guard let startedAt else { return }
        let tenths = (ContinuousClock.now - startedAt).milliseconds / 100
        logger.notice(
            "\(what) recovered after \(tenths / 10).\(tenths % 10) s",
            metadata: ["failed_attempts": "\(failures)"])
        self.startedAt = nil
        failures = 0
    }
}
