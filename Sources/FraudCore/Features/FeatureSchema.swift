/// The model's input: names and order of every feature. A stored model carries this list and is
/// rejected when it differs from the code's.
public enum FeatureSchema {
    /// Feature names in vector order.
    public static let names: [String] = [
        "amount", "log_amount", "hour_of_day", "day_of_week", "category_code",
        "distance_from_home_km", "preferred_card_match", "segment_code", "risk_score", "account_age_days", "unknown_user",
        "tx_count_1m", "tx_count_1h", "tx_count_24h", "amount_zscore", "amount_to_mean_ratio", "user_tx_count",
        "distinct_merchants_1h", "seconds_since_last", "travel_speed_kmh", "new_device", "merchant_pair_count",
        "ip_blocklisted", "device_events_window", "click_spam",
    ]

    /// Number of features.
    public static let count = names.count

    /// Merchant categories with a code (1-based; 0 = unknown or absent).
    public static let categories = [
        "grocery", "retail", "travel", "electronics", "restaurant", "gas", "entertainment", "online", "gift_cards", "jewelry",
    ]

    /// Customer segments with a code (1-based; 0 = unknown).
    public static let segments = ["student", "standard", "premium", "business"]

    /// Index of a feature by name.
    public static func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The code of a category (0 when unknown).
    public static func categoryCode(_ category: String?) -> Double {
        guard let category, let index = categories.firstIndex(of: category.lowercased()) else { return 0 }
        return Double(index + 1)
    }

    /// The code of a segment (0 when unknown).
    public static func segmentCode(_ segment: String?) -> Double {
        guard let segment, let index = segments.firstIndex(of: segment.lowercased()) else { return 0 }
        return Double(index + 1)
    }
}

/// Indices into a feature vector, named, so rules and tests do not use magic numbers.
public enum Feature {
    /// Index of `amount`.
    public static let amount = 0
    /// Index of `log_amount`.
    public static let logAmount = 1
    /// Index of `hour_of_day`.
    public static let hourOfDay = 2
    /// Index of `day_of_week`.
    public static let dayOfWeek = 3
    /// Index of `category_code`.
    public static let categoryCode = 4
    /// Index of `distance_from_home_km`.
    public static let distanceFromHomeKilometres = 5
    /// Index of `preferred_card_match`.
    public static let preferredCardMatch = 6
    /// Index of `segment_code`.
    public static let segmentCode = 7
    /// Index of `risk_score`.
    public static let riskScore = 8
    /// Index of `account_age_days`.
    public static let accountAgeDays = 9
    /// Index of `unknown_user`.
    public static let unknownUser = 10
    /// Index of `tx_count_1m`.
    public static let transactionsLastMinute = 11
    /// Index of `tx_count_1h`.
    public static let transactionsLastHour = 12
    /// Index of `tx_count_24h`.
    public static let transactionsLastDay = 13
    /// Index of `amount_zscore`.
    public static let amountZScore = 14
    /// Index of `amount_to_mean_ratio`.
    public static let amountToMeanRatio = 15
    /// Index of `user_tx_count`.
    public static let userTransactionCount = 16
    /// Index of `distinct_merchants_1h`.
    public static let distinctMerchantsLastHour = 17
    /// Index of `seconds_since_last`.
    public static let secondsSinceLast = 18
    /// Index of `travel_speed_kmh`.
    public static let travelSpeedKilometresPerHour = 19
    /// Index of `new_device`.
    public static let newDevice = 20
    /// Index of `merchant_pair_count`.
    public static let merchantPairCount = 21
    /// Index of `ip_blocklisted`.
    public static let ipBlocklisted = 22
    /// Index of `device_events_window`.
    public static let deviceEventsInWindow = 23
    /// Index of `click_spam`.
    public static let clickSpam = 24
}
