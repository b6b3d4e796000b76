import FraudCore
import Logging

/// Log lines to standard error at the level of `--log-level` / `LOG_LEVEL` (default `info`), set up once per process.
func bootstrapLogging(_ settings: SettingsResolver) throws(FraudError) {
    let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    let level = Logger.Level(rawValue: try settings.choice(Settings.logLevel, of: levels) ?? "info") ?? .info
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = level
        return handler
    }
}
