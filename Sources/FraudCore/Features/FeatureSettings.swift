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
    /// How long a known user's dynamic state (window, devices, count-min sketch, merchant slots) lives
    /// after the user's last transaction, in seconds (env `USER_STATE_TTL`). Feature values do not depend on it.
    public var userStateTTLSeconds: Int
    /// How long every key of a user without a profile (its profile hash holds only running state) lives
    /// after the user's last transaction, in seconds (env `UNKNOWN_USER_TTL`).
    public var unknownUserTTLSeconds: Int

    /// Creates settings with the defaults of the reference pipeline where it has them.
    public init(
        namespace: String = "fraud", clickSpamThreshold: Int = 10, clickSpamWindowSeconds: Int = 5,
        countMinWidth: Int = 256, countMinDepth: Int = 4, userStateTTLSeconds: Int = 2_592_000,
        unknownUserTTLSeconds: Int = 604_800
    ) {
        self.namespace = namespace
        self.clickSpamThreshold = clickSpamThreshold
        self.clickSpamWindowSeconds = clickSpamWindowSeconds
        self.countMinWidth = countMinWidth
        self.countMinDepth = countMinDepth
        self.userStateTTLSeconds = userStateTTLSeconds
        self.unknownUserTTLSeconds = unknownUserTTLSeconds
    }

    /// `NAMESPACE`, `CLICK_SPAM_THRESHOLD`, `CLICK_SPAM_WINDOW_IN_SEC`, `USER_STATE_TTL` and
    /// `UNKNOWN_USER_TTL` over the defaults.
    public static func resolve(_ settings: SettingsResolver) throws(FraudError) -> FeatureSettings {
        var result = FeatureSettings()
        if let namespace = settings.string(Settings.namespace) { result.namespace = namespace }
        if let value = try settings.integer(Settings.clickSpamThreshold, in: 1...1_000_000) { result.clickSpamThreshold = value }
        if let value = try settings.integer(Settings.clickSpamWindowSeconds, in: 1...86_400) { result.clickSpamWindowSeconds = value }
        let ttlRange = 1...Settings.maximumTTLSeconds
        if let value = try settings.integer(Settings.userStateTTL, in: ttlRange) { result.userStateTTLSeconds = value }
        if let value = try settings.integer(Settings.unknownUserTTL, in: ttlRange) { result.unknownUserTTLSeconds = value }
        return result
    }
}
