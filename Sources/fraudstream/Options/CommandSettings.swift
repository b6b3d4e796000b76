import FraudCore
import Foundation

extension SettingsResolver {
    /// The resolver of one command: the flags it parsed over the process environment. The only
    /// place the command line reads the environment.
    static func command(_ flagGroups: [Setting: String?]...) -> SettingsResolver {
        var flags: [Setting: String] = [:]
        for group in flagGroups {
            for (setting, value) in group {
                if let value { flags[setting] = value }
            }
        }
        return SettingsResolver(flags: flags, environment: ProcessInfo.processInfo.environment)
    }
}
