/// One card or payment transaction, as the input stream's data contract defines it (README, "Data contract").
public struct Transaction: Sendable, Hashable, Codable {
    /// Unique id, at most 128 bytes.
    public var transactionId: String
    /// Card holder / account id, at most 128 bytes.
    public var userId: String
    /// Amount, finite and > 0.
    public var amount: Double
    /// Merchant id, at most 128 bytes.
    public var merchantId: String
    /// Event time in epoch milliseconds.
    public var timestampMilliseconds: Int64
    /// ISO currency code; `USD` when absent.
    public var currency: String
    /// Card network, e.g. `VISA`.
    public var cardProvider: String?
    /// Merchant category, e.g. `retail`.
    public var merchantCategory: String?
    /// Where the card was used, degrees.
    public var latitude: Double?
    /// Where the card was used, degrees.
    public var longitude: Double?
    /// Device fingerprint.
    public var deviceId: String?
    /// Client IP.
    public var ip: String?
    /// Groups a test run for statistics.
    public var runId: String?
    /// Ground-truth label for evaluation; never a model input.
    public var isFraud: Bool?
    /// For synthetic data: the fraud scenario that produced this row (`card_testing`, …); never a model input.
    public var scenario: String?
    /// Reason codes of optional fields that were invalid and dropped (`invalid_location`, `invalid_device`, …); they
    /// join the decision's reasons. Not part of the stream contract, so not encoded.
    public var invalidFields: [String] = []
    /// Fields outside the contract a producer sent (`email_hash`, `card_number_hash`), kept for the features fraud
    /// teams define over them (``FeatureDefinition``): at most ``TransactionParser/maximumExtraFields``, named
    /// `[a-z0-9_]`, valid UTF-8 values of at most 128 bytes.
    public var extra: [String: String] = [:]

    /// Creates a transaction.
    public init(
        transactionId: String, userId: String, amount: Double, merchantId: String, timestampMilliseconds: Int64,
        currency: String = "USD", cardProvider: String? = nil, merchantCategory: String? = nil,
        latitude: Double? = nil, longitude: Double? = nil, deviceId: String? = nil, ip: String? = nil,
        runId: String? = nil, isFraud: Bool? = nil, scenario: String? = nil
    ) {
        self.transactionId = transactionId
        self.userId = userId
        self.amount = amount
        self.merchantId = merchantId
        self.timestampMilliseconds = timestampMilliseconds
        self.currency = currency
        self.cardProvider = cardProvider
        self.merchantCategory = merchantCategory
        self.latitude = latitude
        self.longitude = longitude
        self.deviceId = deviceId
        self.ip = ip
        self.runId = runId
        self.isFraud = isFraud
        self.scenario = scenario
    }

    /// JSON keys: the stream's field names.
    public enum CodingKeys: String, CodingKey {
        case transactionId = "transaction_id"
        case userId = "user_id"
        case amount
        case merchantId = "merchant_id"
        case timestampMilliseconds = "timestamp"
        case currency
        case cardProvider = "card_provider"
        case merchantCategory = "merchant_category"
        case latitude = "lat"
        case longitude = "lon"
        case deviceId = "device_id"
        case ip
        case runId = "run_id"
        case isFraud = "is_fraud"
        case scenario = "fraud_scenario"
    }
}
