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
    public static let amount = 0
    public static let logAmount = 1
    public static let hourOfDay = 2
    public static let dayOfWeek = 3
    public static let categoryCode = 4
    public static let distanceFromHomeKilometres = 5
    public static let preferredCardMatch = 6
    public static let segmentCode = 7
    public static let riskScore = 8
    public static let accountAgeDays = 9
    public static let unknownUser = 10
    public static let transactionsLastMinute = 11
    public static let transactionsLastHour = 12
    public static let transactionsLastDay = 13
    public static let amountZScore = 14
    public static let amountToMeanRatio = 15
    public static let userTransactionCount = 16
    public static let distinctMerchantsLastHour = 17
    public static let secondsSinceLast = 18
    public static let travelSpeedKilometresPerHour = 19
    public static let newDevice = 20
    public static let merchantPairCount = 21
    public static let ipBlocklisted = 22
    public static let deviceEventsInWindow = 23
    public static let clickSpam = 24
}
