/// What the bank knows about a card holder; stored in Redis as the hash `<ns>:{<user>}:profile`.
public struct UserProfile: Sendable, Hashable, Codable {
    /// The user id.
    public var userId: String
    /// Home location, degrees.
    public var homeLatitude: Double
    /// Home location, degrees.
    public var homeLongitude: Double
    /// The card network the user normally pays with (`VISA`, `MASTERCARD`, `AMEX`, `DISCOVER`).
    public var preferredCard: String
    /// Customer segment: `student`, `standard`, `premium`, `business`.
    public var segment: String
    /// Prior risk score in 0...1 from onboarding (KYC); higher is riskier.
    public var riskScore: Double
    /// Account creation time, epoch milliseconds.
    public var accountCreatedMilliseconds: Int64
    /// Merchant categories this user usually buys in.
    public var usualCategories: [String]
    /// Typical transaction amount (median-like), in USD.
    public var typicalSpend: Double
    /// The user's own devices.
    public var devices: [String]
    /// The user's usual IPs.
    public var ips: [String]

    /// Creates a profile.
    public init(
        userId: String, homeLatitude: Double, homeLongitude: Double, preferredCard: String, segment: String,
        riskScore: Double, accountCreatedMilliseconds: Int64, usualCategories: [String], typicalSpend: Double,
        devices: [String], ips: [String]
    ) {
        self.userId = userId
        self.homeLatitude = homeLatitude
        self.homeLongitude = homeLongitude
        self.preferredCard = preferredCard
        self.segment = segment
        self.riskScore = riskScore
        self.accountCreatedMilliseconds = accountCreatedMilliseconds
        self.usualCategories = usualCategories
        self.typicalSpend = typicalSpend
        self.devices = devices
        self.ips = ips
    }

    /// JSON keys, snake_case like the stream.
    public enum CodingKeys: String, CodingKey {
        case userId = "user_id"
        case homeLatitude = "home_lat"
        case homeLongitude = "home_lon"
        case preferredCard = "preferred_card"
        case segment
        case riskScore = "risk_score"
        case accountCreatedMilliseconds = "account_created"
        case usualCategories = "usual_categories"
        case typicalSpend = "typical_spend"
        case devices
        case ips
    }
}

/// A merchant of the synthetic world.
public struct Merchant: Sendable, Hashable, Codable {
    /// The merchant id.
    public var merchantId: String
    /// Category: `grocery`, `retail`, `travel`, `electronics`, `restaurant`, `gas`, `entertainment`, `online`, `gift_cards`, `jewelry`.
    public var category: String
    /// Location, degrees.
    public var latitude: Double
    /// Location, degrees.
    public var longitude: Double

    /// Creates a merchant.
    public init(merchantId: String, category: String, latitude: Double, longitude: Double) {
        self.merchantId = merchantId
        self.category = category
        self.latitude = latitude
        self.longitude = longitude
    }

    /// JSON keys.
    public enum CodingKeys: String, CodingKey {
        case merchantId = "merchant_id"
        case category
        case latitude = "lat"
        case longitude = "lon"
    }
}
