extension Transaction {
    /// The flat stream fields of the data contract, as a producer `XADD`s them (labels included when known).
    public var streamFields: [(String, String)] {
        var fields: [(String, String)] = [
            ("transaction_id", transactionId), ("user_id", userId), ("amount", String(amount)),
            ("merchant_id", merchantId), ("timestamp", String(timestampMilliseconds)), ("currency", currency),
        ]
        if let cardProvider { fields.append(("card_provider", cardProvider)) }
        if let merchantCategory { fields.append(("merchant_category", merchantCategory)) }
        if let latitude, let longitude {
            fields.append(("lat", String(latitude)))
            fields.append(("lon", String(longitude)))
        }
        if let deviceId { fields.append(("device_id", deviceId)) }
        if let ip { fields.append(("ip", ip)) }
        if let runId { fields.append(("run_id", runId)) }
        if let isFraud { fields.append(("is_fraud", isFraud ? "1" : "0")) }
        if let scenario { fields.append(("fraud_scenario", scenario)) }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { fields.append((name, value)) }
        return fields
    }
}
