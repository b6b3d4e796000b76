/// Merchant categories of the synthetic world, with how common and how expensive each one is.
enum WorldCategory: Int, CaseIterable, Sendable {
    case grocery, retail, travel, electronics, restaurant, gas, entertainment, online, giftCards, jewelry

    /// The category string used in `Transaction.merchantCategory` and `Merchant.category`.
    var name: String { Self.names[rawValue] }

    /// Category strings, indexed by raw value.
    static let names = [
        "grocery", "retail", "travel", "electronics", "restaurant", "gas", "entertainment", "online", "gift_cards", "jewelry",
    ]

    /// The category with the given name, if any.
    init?(name: String) {
        guard let index = Self.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: index)
    }

    /// Share of merchants in this category.
    static let merchantShares: [Double] = [0.14, 0.16, 0.06, 0.07, 0.18, 0.10, 0.08, 0.12, 0.04, 0.05]

    /// How often a user buys in this category outside their usual ones.
    static let casualShares: [Double] = [0.16, 0.20, 0.05, 0.05, 0.22, 0.10, 0.10, 0.09, 0.015, 0.015]

    /// Typical amount in this category relative to the user's typical spend.
    var amountFactor: Double {
        switch self {
        case .grocery: 1.0
        case .retail: 1.4
        case .travel: 4.0
        case .electronics: 3.0
        case .restaurant: 0.8
        case .gas: 1.1
        case .entertainment: 0.9
        case .online: 1.2
        case .giftCards: 1.5
        case .jewelry: 4.0
        }
    }

    /// Card-not-present: the transaction's location is the buyer's, not the merchant's.
    var isRemote: Bool { self == .online }
}
