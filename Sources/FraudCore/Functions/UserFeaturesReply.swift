/// What `fs_user_features` returned for one transaction: the user's state before it (see ``UserFeaturesCall/Reply``).
///
/// Optional values are absent from the user's profile hash (an unknown user, a first transaction, no location yet).
public struct UserFeaturesReply: Sendable, Equatable {
    /// Profile home latitude.
    public var homeLatitude: Double?
    /// Profile home longitude.
    public var homeLongitude: Double?
    /// Profile preferred card provider.
    public var preferredCard: String?
    /// Profile customer segment.
    public var segment: String?
    /// Profile risk score.
    public var riskScore: Double?
    /// Profile account creation time in ms.
    public var accountCreatedMilliseconds: Double?
    /// Other transactions of the user in the last minute.
    public var transactionsLastMinute: Int
    /// Other transactions of the user in the last hour.
    public var transactionsLastHour: Int
    /// Other transactions of the user in the last 24 h.
    public var transactionsLastDay: Int
    /// Transactions folded in before this one.
    public var transactionCount: Double?
    /// Their mean amount.
    public var amountMean: Double?
    /// Their sum of squared deviations from the mean (Welford's M2).
    public var amountM2: Double?
    /// The previous transaction's event time in ms.
    public var lastTimestampMilliseconds: Double?
    /// The previous transaction with a location: its event time in ms.
    public var locationTimestampMilliseconds: Double?
    /// The previous transaction with a location: its latitude.
    public var lastLatitude: Double?
    /// The previous transaction with a location: its longitude.
    public var lastLongitude: Double?
    /// Distinct merchants over the merchant slots (about the last hour).
    public var distinctMerchants: Int
    /// The device was new for the user (always `false` on a redelivery).
    public var isNewDevice: Bool
    /// Earlier transactions of the user at this merchant (count-min estimate, never below the truth).
    public var merchantPairCount: Int
    /// The transaction was folded in now; `false` for a redelivery, whose features were only read.
    public var isFresh: Bool
}

extension UserFeaturesReply {
    /// The state of a user never seen: no profile, no history.
    public static let unknown = UserFeaturesReply(
        homeLatitude: nil, homeLongitude: nil, preferredCard: nil, segment: nil, riskScore: nil, accountCreatedMilliseconds: nil,
        transactionsLastMinute: 0, transactionsLastHour: 0, transactionsLastDay: 0, transactionCount: nil, amountMean: nil,
        amountM2: nil, lastTimestampMilliseconds: nil, locationTimestampMilliseconds: nil, lastLatitude: nil, lastLongitude: nil,
        distinctMerchants: 0, isNewDevice: false, merchantPairCount: 0, isFresh: false)
}
