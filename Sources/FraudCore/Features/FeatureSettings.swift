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

    /// Reads `NAMESPACE`, `CLICK_SPAM_THRESHOLD`, `CLICK_SPAM_WINDOW_IN_SEC`.
    public static func fromEnvironment(_ environment: [String: String]) -> FeatureSettings {
        var settings = FeatureSettings()
        if let namespace = environment["NAMESPACE"], !namespace.isEmpty { settings.namespace = namespace }
        if let value = environment["CLICK_SPAM_THRESHOLD"].flatMap(Int.init), value > 0 { settings.clickSpamThreshold = value }
        if let value = environment["CLICK_SPAM_WINDOW_IN_SEC"].flatMap(Int.init), value > 0 {
            settings.clickSpamWindowSeconds = value
        }
        return settings
    }
}
