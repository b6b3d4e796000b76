import Configuration

/// Resolves settings in one place: flags first, then the environment, then the caller's default.
///
/// Built on `swift-configuration`: the flags a command parsed (swift-argument-parser keeps parsing,
/// help and validation of flags) go into an `InMemoryProvider` in front of an
/// `EnvironmentVariablesProvider`, and every setting is read through one `ConfigReader`. Values
/// are read as text and converted here, so a value that does not convert is an error naming the
/// flag or variable it came from, never silently replaced by the default. An empty environment
/// variable counts as unset.
public struct SettingsResolver: Sendable {
    private let reader: ConfigReader
    private let flags: Set<Setting>

    /// Creates a resolver over the flags given on the command line and an environment.
    public init(flags: [Setting: String] = [:], environment: [String: String]) {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (setting, value) in flags {
            values[AbsoluteConfigKey(setting.key.split(separator: ".").map(String.init))] = ConfigValue(.string(value), isSecret: setting == Settings.redisURL)
        }
        let nonEmpty = environment.filter { !$0.value.isEmpty }
        reader = ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(
                environmentVariables: nonEmpty, secretsSpecifier: .specific(["REDIS_PASSWORD", "REDIS_URL"])),
        ])
        self.flags = Set(flags.keys)
    }

    /// The text of a setting, or `nil` when neither a flag nor the environment sets it.
    public func string(_ setting: Setting) -> String? {
        reader.string(forKey: ConfigKey(setting.key.split(separator: ".").map(String.init)), isSecret: setting == Settings.redisURL)
    }

    /// Where a set value came from, for messages: `--batch-size` or `BATCH_SIZE`.
    public func source(of setting: Setting) -> String {
        if flags.contains(setting), let flag = setting.flag { return "--\(flag)" }
        return setting.environmentName
    }

    /// An integer setting, checked against `range`; `nil` when unset.
    public func integer(_ setting: Setting, in range: ClosedRange<Int>? = nil) throws(FraudError) -> Int? {
        guard let text = string(setting) else { return nil }
        guard let value = Int(text.trimmingSpaces) else {
            throw invalid(setting, text, "is not an integer")
        }
        if let range, !range.contains(value) {
            let bound = range.upperBound == Int.max ? ">= \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)"
            throw invalid(setting, text, "must be \(bound)")
        }
        return value
    }

    /// A decimal setting, checked against `range`; `nil` when unset. A decimal comma is an error.
    public func decimal(_ setting: Setting, in range: ClosedRange<Double>? = nil) throws(FraudError) -> Double? {
        guard let text = string(setting) else { return nil }
        guard let value = Double(text.trimmingSpaces), value.isFinite else {
            throw invalid(setting, text, "is not a decimal number (use a point: 0.5)")
        }
        if let range, !range.contains(value) {
            throw invalid(setting, text, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// A boolean setting (`1`/`0`, `true`/`false`, `yes`/`no`); `nil` when unset.
    public func boolean(_ setting: Setting) throws(FraudError) -> Bool? {
        guard let text = string(setting) else { return nil }
        switch text.trimmingSpaces.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw invalid(setting, text, "must be 1 or 0 (true or false)")
        }
    }

    /// A setting that must be one of `choices`; `nil` when unset.
    public func choice(_ setting: Setting, of choices: [String]) throws(FraudError) -> String? {
        guard let text = string(setting) else { return nil }
        guard choices.contains(text) else {
            throw invalid(setting, text, "must be one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    /// An error naming the flag or variable a bad value came from.
    public func invalid(_ setting: Setting, _ text: String, _ problem: String) -> FraudError {
        FraudError(.invalidSetting, "\(source(of: setting)) '\(text)' \(problem)")
    }

    /// The values of `settings` that are set, by environment name (for code that takes a dictionary).
    public func environment(of settings: [Setting]) -> [String: String] {
        var result: [String: String] = [:]
        for setting in settings {
            if let value = string(setting) { result[setting.environmentName] = value }
        }
        return result
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
