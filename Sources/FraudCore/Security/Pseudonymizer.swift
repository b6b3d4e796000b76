import Crypto
import Foundation

/// Replaces the identifiers that may be card numbers or personal data (`--pseudonymize user_id,device_id,ip`) by a
/// keyed HMAC-SHA-256 before anything is derived from them: key names, stored values, results, reviews, dead letters,
/// audit entries, blocklist entries. The same key gives the same pseudonym on every path (the worker, `serve`,
/// `prepare`, `blocklist`), so features, the blocklist and decisions work on pseudonyms as they did on the ids.
///
/// A pseudonym is `p` followed by the first 32 hex digits (128 bits) of HMAC-SHA-256(key, field name, 0, value): the
/// field name separates the domains, so a user id and a device id with the same text get different pseudonyms.
/// Rotating the key gives every identifier a new pseudonym: the state built under the old key (profiles, windows,
/// devices, the blocklist) no longer matches, as if the users were new (README, "Pseudonymized identifiers").
public struct Pseudonymizer: Sendable, Equatable {
    /// The contract's identifiers that may be pseudonymized (any field outside the contract may be too).
    public static let supportedFields = ["user_id", "device_id", "ip"]
    /// The contract's other fields, which are not identifiers.
    static let contractFields: Set<String> = [
        "transaction_id", "amount", "merchant_id", "timestamp", "currency", "card_provider", "merchant_category", "lat", "lon", "run_id",
        "is_fraud", "fraud_scenario", "location", "data",
    ]
    /// The shortest accepted key, in bytes (a 256-bit key, as for HMAC-SHA-256).
    public static let minimumKeyBytes = 32

    /// The fields it replaces.
    public let fields: Set<String>
    private let key: SymmetricKey

    public static func == (lhs: Pseudonymizer, rhs: Pseudonymizer) -> Bool {
        lhs.fields == rhs.fields && lhs.key.withUnsafeBytes { l in rhs.key.withUnsafeBytes { r in Data(l) == Data(r) } }
    }

    /// A pseudonymizer for `fields` with `key`.
    public init(fields: Set<String>, key: [UInt8]) throws(FraudError) {
        // The contract's identifiers, or fields outside the contract a producer sends (`card_number_hash`), which
        // feature sets may key state by.
        let unknown = fields.filter { !Self.supportedFields.contains($0) && (Self.contractFields.contains($0) || !TransactionParser.isExtraFieldName($0)) }
        guard unknown.isEmpty else {
            throw FraudError(
                .invalidSetting,
                "PSEUDONYMIZE names \(unknown.sorted().joined(separator: ", ")); it takes \(Self.supportedFields.joined(separator: ", ")) "
                    + "or fields outside the contract (a-z 0-9 _)")
        }
        guard key.count >= Self.minimumKeyBytes else {
            throw FraudError(.invalidSetting, "the pseudonymization key (FRAUD_ID_KEY_FILE) has \(key.count) bytes; it needs at least \(Self.minimumKeyBytes) (head -c 32 /dev/urandom > id.key)")
        }
        self.fields = fields
        self.key = SymmetricKey(data: key)
    }

    /// `PSEUDONYMIZE` (`--pseudonymize`) with the key in `FRAUD_ID_KEY_FILE` (`--id-key-file`), or `nil` when
    /// `PSEUDONYMIZE` is unset. A missing or short key is one readable error, never ids stored in clear.
    public static func resolve(_ settings: SettingsResolver) throws(FraudError) -> Pseudonymizer? {
        guard let list = settings.string(Settings.pseudonymize), !list.isEmpty else { return nil }
        let fields = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        guard let path = settings.string(Settings.idKeyFile), !path.isEmpty else {
            throw FraudError(.invalidSetting, "PSEUDONYMIZE needs a key: set FRAUD_ID_KEY_FILE (--id-key-file) to a file of at least \(minimumKeyBytes) secret bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FraudError(.invalidSetting, "cannot read the pseudonymization key FRAUD_ID_KEY_FILE \(path)")
        }
        return try Pseudonymizer(fields: fields, key: Array(data))
    }

    /// The pseudonym of `value` in `field`, or `value` itself when the field is not pseudonymized.
    public func map(_ value: String, field: String) -> String {
        guard fields.contains(field) else { return value }
        var message = Array(field.utf8)
        message.append(0)
        message.append(contentsOf: value.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
        var text = "p"
        for byte in mac.prefix(16) {
            text += String(byte, radix: 16).count == 1 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }
        return text
    }

    /// The transaction with its listed identifiers replaced.
    public func apply(_ transaction: Transaction) -> Transaction {
        var mapped = transaction
        mapped.userId = map(transaction.userId, field: "user_id")
        mapped.deviceId = transaction.deviceId.map { map($0, field: "device_id") }
        mapped.ip = transaction.ip.map { map($0, field: "ip") }
        for (name, value) in transaction.extra where fields.contains(name) { mapped.extra[name] = map(value, field: name) }
        return mapped
    }

    /// Raw stream fields with the listed identifiers replaced (a dead letter keeps every other field as it came).
    public func apply(_ fields: [(String, String)]) -> [(String, String)] {
        fields.map { self.fields.contains($0.0) ? ($0.0, map($0.1, field: $0.0)) : $0 }
    }

    /// The world with its identifiers replaced, before `prepare` stores anything of it.
    public func apply(_ world: SyntheticWorld) -> SyntheticWorld {
        var mapped = world
        mapped.profiles = world.profiles.map { profile in
            var profile = profile
            profile.userId = map(profile.userId, field: "user_id")
            profile.devices = profile.devices.map { map($0, field: "device_id") }
            profile.ips = profile.ips.map { map($0, field: "ip") }
            return profile
        }
        mapped.blocklistedIPs = world.blocklistedIPs.map { map($0, field: "ip") }
        mapped.history = world.history.map(apply)
        return mapped
    }

    /// A short description for logs and `doctor`: the fields, never the key.
    public var summary: String { "HMAC-SHA-256 of \(fields.sorted().joined(separator: ", "))" }
}
