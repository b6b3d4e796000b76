/// One setting a command reads, by its environment name and the flag that overrides it.
///
/// The environment name is also its `swift-configuration` key (`FRAUD_THRESHOLD` is the key
/// `fraud.threshold`, which `EnvironmentVariablesProvider` maps back to `FRAUD_THRESHOLD`), so a
/// flag, the environment and the default are three providers of one key.
public struct Setting: Sendable, Hashable, CustomStringConvertible {
    /// The environment variable, e.g. `BATCH_SIZE`.
    public let environmentName: String
    /// The flag without dashes, e.g. `batch-size`; `nil` for settings with no flag.
    public let flag: String?

    /// Creates a setting.
    public init(_ environmentName: String, flag: String? = nil) {
        self.environmentName = environmentName
        self.flag = flag
    }

    /// The configuration key: the environment name in lower case with dots for underscores.
    public var key: String { environmentName.lowercased().replacingOccurrences(of: "_", with: ".") }

    /// `--flag [ENV]`, as help texts and errors name it.
    public var description: String { flag.map { "--\($0) [\(environmentName)]" } ?? environmentName }
}

extension String {
    fileprivate func replacingOccurrences(of target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
