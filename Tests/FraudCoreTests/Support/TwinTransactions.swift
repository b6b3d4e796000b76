import Foundation

/// Two fresh users with the same history (their own devices, the same amounts, merchants and times): one sends
/// through the stream, the other through the API, so one decision core must give both the same features and scores.
struct TwinTransactions {
    let amounts = [20.0, 35.0, 5_000.0, 40.0, 7_000.0, 12.0]
    let start = Int64(Date().timeIntervalSince1970 * 1000) - 600_000

    /// The stream entry of transaction `index` on `path` (`stream` or `api`).
    func fields(_ index: Int, path: String) -> [(String, String)] {
        [
            ("transaction_id", "\(path)-\(index)"), ("user_id", "twin-\(path)"), ("amount", String(amounts[index])),
            ("merchant_id", "m\(index % 3)"), ("timestamp", String(start + Int64(index) * 60_000)), ("lat", "40.5"),
            ("lon", "-74.1"), ("card_provider", "VISA"), ("merchant_category", "retail"), ("device_id", "device-\(path)"),
            ("ip", "10.0.0.9"), ("run_id", "twins"),
        ]
    }

    /// The same transaction as a `POST /v1/score` body.
    func body(_ index: Int, path: String) -> String {
        "{" + fields(index, path: path).map { name, value in
            ["amount", "timestamp", "lat", "lon"].contains(name) ? "\"\(name)\": \(value)" : "\"\(name)\": \"\(value)\""
        }.joined(separator: ", ") + "}"
    }
}
