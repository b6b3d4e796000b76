extension Transaction {
    /// A generated row without an id yet (the generator numbers rows once they are in event-time order).
    static func generated(
        user: String, merchant: Merchant, amount: Double, at time: Int64, card: String, latitude: Double, longitude: Double,
        device: String, ip: String, scenario: FraudScenario?
    ) -> Transaction {
        Transaction(
            transactionId: "", userId: user, amount: WorldAtlas.roundAmount(amount), merchantId: merchant.merchantId,
            timestampMilliseconds: time, currency: "USD", cardProvider: card, merchantCategory: merchant.category,
            latitude: WorldAtlas.roundCoordinate(latitude), longitude: WorldAtlas.roundCoordinate(longitude), deviceId: device,
            ip: ip, runId: nil, isFraud: scenario != nil, scenario: scenario?.rawValue)
    }
}
