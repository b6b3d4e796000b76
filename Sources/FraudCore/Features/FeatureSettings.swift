/// Knobs of the feature definitions that must be the same for training and serving.
public struct FeatureSettings: Sendable, Equatable, Codable {
    /// Key namespace (env `NAMESPACE`).
    public var namespace: String
    /// Device events in the window at or above which `click_spam` is 1 (env `CLICK_SPAM_THRESHOLD`).
    public var clickSpamThreshold: Int
    /// The click-spam window in seconds (env `CLICK_SPAM_WINDOW_IN_SEC`).
    public var clickSpamWindowSeconds: Int
    /// Count-min sketch columns per row.
    public var countMinWidth: Int
    /// Count-min sketch rows.
    public var countMinDepth: Int

    /// Creates settings with the defaults of the reference pipeline where it has them.
    public init(
        namespace: String = "fraud", clickSpamThreshold: Int = 10, clickSpamWindowSeconds: Int = 5,
        countMinWidth: Int = 256, countMinDepth: Int = 4
    ) {
        self.namespace = namespace
        self.clickSpamThreshold = clickSpamThreshold
        self.clickSpamWindowSeconds = clickSpamWindowSeconds
        self.countMinWidth = countMinWidth
        self.countMinDepth = countMinDepth
    }

    /// `NAMESPACE`, `CLICK_SPAM_THRESHOLD` and `CLICK_SPAM_WINDOW_IN_SEC` over the defaults.
    public static func resolve(_ settings: SettingsResolver) throws(FraudError) -> FeatureSettings {
        var result = FeatureSettings()
        if let namespace = settings.string(Settings.namespace) { result.namespace = namespace }
        if let value = try settings.integer(Settings.clickSpamThreshold, in: 1...1_000_000) { result.clickSpamThreshold = value }
        if let value = try settings.integer(Settings.clickSpamWindowSeconds, in: 1...86_400) { result.clickSpamWindowSeconds = value }
        return result
    }
}
