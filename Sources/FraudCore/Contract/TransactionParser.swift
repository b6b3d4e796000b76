import Foundation

/// Turns stream entry fields into a ``Transaction`` or a reason to dead-letter the entry.
///
/// Accepts the flat form (one stream field per contract field) and, for producers written against
/// the Python reference pipeline, a single `data` field holding a JSON object, where `timestamp`
/// may be epoch seconds and the location may be a `location` string `"lon,lat"`.
public enum TransactionParser {
    /// Longest accepted id, in bytes.
    public static let maximumIdentifierBytes = 128
    /// Longest accepted `run_id`, in bytes. Each run id creates statistics keys, so any producer could
    /// otherwise create keys without bound (they expire after `STATS_TTL`, but only that bounds their time).
    public static let maximumRunIdBytes = 64

    /// A `run_id` may have 1 to ``maximumRunIdBytes`` bytes of `A-Z a-z 0-9 . _ : -`.
    public static func isValidRunId(_ runId: some StringProtocol) -> Bool {
        let bytes = runId.utf8
        guard !bytes.isEmpty, bytes.count <= maximumRunIdBytes else { return false }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Why an entry was rejected; `reason` goes into the dead-letter entry.
    public struct Rejection: Error, Sendable, Equatable {
        /// A short machine-readable code (`missing_field`, `invalid_amount`, …).
        public var code: String
        /// The human-readable reason written to the dead-letter stream.
        public var reason: String
    }

    /// The most fields outside the contract a transaction keeps (for features defined over them).
    public static let maximumExtraFields = 16

    /// An extra field's name: 1 to 64 bytes of `a-z 0-9 _`.
    static func isExtraFieldName(_ name: String) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && bytes.count <= 64
            && bytes.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// The default upper bound of `amount` (`MAX_AMOUNT`): above it a transaction is rejected, so no amount can make a
    /// user's running statistics overflow.
    public static let defaultMaximumAmount: Double = 1_000_000_000

    /// Parses one entry's fields. `maximumAmount` bounds `amount`; `invalidUTF8` names the fields whose bytes were not
    /// valid UTF-8 (a stream field is bytes): a required identifier among them is rejected, never mangled into U+FFFD
    /// (two ids would collide), and an optional field is dropped with a reason.
    public static func parse(
        _ fields: [(String, String)], maximumAmount: Double = defaultMaximumAmount, invalidUTF8: Set<String> = []
    ) -> Result<Transaction, Rejection> {
        if fields.isEmpty {
            return .failure(Rejection(code: "empty_entry", reason: "entry has no fields (deleted from the stream?)"))
        }
        var values = ContractFields()
        for (name, value) in fields { values.setIfAbsent(name, value) }
        if let data = values["data"], values["transaction_id"] == nil {
            var decoded = ContractFields()
            switch decodeJSON(data) {
            case .success(let object):
                for (name, value) in object { decoded.setIfAbsent(name, value) }
            case .failure(let rejection): return .failure(rejection)
            }
            // The data field's own bytes were checked; JSON text decodes only from valid UTF-8.
            return build(decoded, timestampMayBeSeconds: true, maximumAmount: maximumAmount, invalidUTF8: invalidUTF8.contains("data") ? ["data"] : [])
        }
        return build(values, timestampMayBeSeconds: false, maximumAmount: maximumAmount, invalidUTF8: invalidUTF8)
    }

    private static func build(
        _ values: ContractFields, timestampMayBeSeconds: Bool, maximumAmount: Double, invalidUTF8: Set<String>
    ) -> Result<Transaction, Rejection> {
        if invalidUTF8.contains("data") {
            return .failure(Rejection(code: "invalid_utf8", reason: "field 'data' is not valid UTF-8"))
        }
        func required(_ name: String) -> Result<String, Rejection> {
            guard let value = values[name], !value.isEmpty else {
                return .failure(Rejection(code: "missing_field", reason: "missing required field '\(name)'"))
            }
            if invalidUTF8.contains(name) {
                return .failure(Rejection(code: "invalid_utf8", reason: "field '\(name)' is not valid UTF-8"))
            }
            return .success(value)
        }
        func identifier(_ name: String) -> Result<String, Rejection> {
            required(name).flatMap { value in
                value.utf8.count <= maximumIdentifierBytes
                    ? .success(value)
                    : .failure(Rejection(code: "field_too_long", reason: "field '\(name)' is longer than \(maximumIdentifierBytes) bytes"))
            }
        }
        let transactionId: String
        let userId: String
        let merchantId: String
        switch (identifier("transaction_id"), identifier("user_id"), identifier("merchant_id")) {
        case (.success(let t), .success(let u), .success(let m)):
            transactionId = t
            userId = u
            merchantId = m
        case (.failure(let rejection), _, _), (_, .failure(let rejection), _), (_, _, .failure(let rejection)):
            return .failure(rejection)
        }
        let amountText: String
        switch required("amount") {
        case .success(let text): amountText = text
        case .failure(let rejection): return .failure(rejection)
        }
        guard let amount = Double(trimmedIfNeeded(amountText)), amount.isFinite, amount > 0 else {
            return .failure(Rejection(code: "invalid_amount", reason: "amount '\(amountText.prefix(40))' is not a finite decimal > 0"))
        }
        guard amount <= maximumAmount else {
            return .failure(Rejection(
                code: "amount_too_large", reason: "amount '\(amountText.prefix(40))' is above the bound \(boundText(maximumAmount)) (MAX_AMOUNT)"))
        }
        let timestampText: String
        switch required("timestamp") {
        case .success(let text): timestampText = text
        case .failure(let rejection): return .failure(rejection)
        }
        let timestamp: Int64
        if let integer = Int64(timestampText), integer > 0 {
            timestamp = timestampMayBeSeconds && integer < 100_000_000_000 ? integer * 1000 : integer
        } else if timestampMayBeSeconds, let seconds = Double(timestampText), seconds.isFinite, seconds > 0, seconds < 100_000_000_000 {
            timestamp = Int64((seconds * 1000).rounded())
        } else {
            return .failure(Rejection(
                code: "invalid_timestamp", reason: "timestamp '\(timestampText.prefix(40))' is not integer epoch milliseconds"))
        }
        // An invalid optional field costs the transaction only that field's features: it is dropped, and its
        // reason code (`invalid_location`, …) goes with the decision's reasons.
        var invalidFields: [String] = []
        var latitude: Double?
        var longitude: Double?
        if let latText = values["lat"], !latText.isEmpty, let lonText = values["lon"], !lonText.isEmpty {
            latitude = Double(latText)
            longitude = Double(lonText)
        } else if let location = values["location"], !location.isEmpty {
            let parts = location.split(separator: ",")
            if parts.count == 2 {
                longitude = Double(parts[0].trimmingCharacters(in: .whitespaces))
                latitude = Double(parts[1].trimmingCharacters(in: .whitespaces))
            }
        }
        let locationGiven = !(values["lat"] ?? "").isEmpty || !(values["lon"] ?? "").isEmpty || !(values["location"] ?? "").isEmpty
        if let lat = latitude, let lon = longitude, (-90...90).contains(lat), (-180...180).contains(lon) {
            // a place on Earth
        } else {
            (latitude, longitude) = (nil, nil)
            if locationGiven { invalidFields.append("invalid_location") }
        }
        var isFraud: Bool?
        if let label = values["is_fraud"], !label.isEmpty {
            switch label.lowercased() {
            case "1", "true": isFraud = true
            case "0", "false": isFraud = false
            default: return .failure(Rejection(code: "invalid_label", reason: "is_fraud '\(label.prefix(20))' is not 0 or 1"))
            }
        }
        func optional(_ name: String) -> String? {
            guard let value = values[name], !value.isEmpty else { return nil }
            return value
        }
        /// An optional identifier: dropped, with `invalid_<name>`, when it is not valid UTF-8 or too long.
        func optionalIdentifier(_ name: String, code: String) -> String? {
            guard let value = optional(name) else { return nil }
            guard !invalidUTF8.contains(name), value.utf8.count <= maximumIdentifierBytes else {
                invalidFields.append(code)
                return nil
            }
            return value
        }
        let runId = optional("run_id")
        if let runId, !isValidRunId(runId) {
            let problem = runId.utf8.count > maximumRunIdBytes ? "is longer than \(maximumRunIdBytes) bytes" : "has characters outside A-Z a-z 0-9 . _ : -"
            return .failure(Rejection(code: "invalid_run_id", reason: "run_id '\(runId.prefix(40))' \(problem)"))
        }
        var transaction = Transaction(
            transactionId: transactionId, userId: userId, amount: amount, merchantId: merchantId,
            timestampMilliseconds: timestamp, currency: optionalIdentifier("currency", code: "invalid_currency") ?? "USD",
            cardProvider: optionalIdentifier("card_provider", code: "invalid_card_provider"),
            merchantCategory: optionalIdentifier("merchant_category", code: "invalid_category"),
            latitude: latitude, longitude: longitude, deviceId: optionalIdentifier("device_id", code: "invalid_device"),
            ip: optionalIdentifier("ip", code: "invalid_ip"), runId: runId, isFraud: isFraud,
            scenario: optionalIdentifier("fraud_scenario", code: "invalid_scenario"))
        transaction.invalidFields = invalidFields
        if !values.extra.isEmpty { transaction.extra = values.extra.filter { !invalidUTF8.contains($0.key) } }
        return .success(transaction)
    }

    /// A bound as people write it: `1000000000`, not `1e+09`.
    static func boundText(_ value: Double) -> String {
        value < 1e18 && value == value.rounded() ? String(Int64(value)) : String(value)
    }

    /// `text` without surrounding spaces and tabs; the same string, without copying, when it has none (the common case).
    private static func trimmedIfNeeded(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return text }
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        if !isSpace(first) && !isSpace(last) { return text }
        return text.trimmingCharacters(in: .whitespaces)
    }

    private static func decodeJSON(_ text: String) -> Result<[String: String], Rejection> {
        guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: Data(text.utf8)) else {
            return .failure(Rejection(code: "invalid_json", reason: "field 'data' is not a flat JSON object"))
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            if let kind = value.kind, let rejection = typeRejection(field: key, kind: kind) { return .failure(rejection) }
            if let text = value.text { values[key] = text }
        }
        return .success(values)
    }

    /// The JSON type a field was given when it is neither a string, a number nor null.
    public enum JSONKind: Sendable {
        case boolean, object, array

        var described: String {
            switch self {
            case .boolean: "a boolean"
            case .object: "an object"
            case .array: "an array"
            }
        }
    }

    /// The contract's numeric fields: a JSON number or a string holding one.
    static let numericFields: Set<String> = ["amount", "timestamp", "lat", "lon"]
    /// The contract's text fields: a string (or a number, taken as its text).
    static let textFields: Set<String> = [
        "transaction_id", "user_id", "merchant_id", "currency", "card_provider", "merchant_category", "device_id", "ip", "run_id",
    ]

    /// A contract field of the wrong JSON type (`invalid_type`), on the stream's `data` field and in the scoring API's
    /// body alike: `"amount": true` is not the amount 1, and `"amount": {"v": 1}` is not a missing amount. `is_fraud`
    /// may be a boolean; fields outside the contract are not checked.
    public static func typeRejection(field: String, kind: JSONKind) -> Rejection? {
        let expected: String
        switch field {
        case _ where numericFields.contains(field): expected = "a number"
        case _ where textFields.contains(field): expected = "a string"
        case "is_fraud":
            if kind == .boolean { return nil }
            expected = "0, 1, true or false"
        default: return nil
        }
        return Rejection(code: "invalid_type", reason: "\(field) must be \(expected), not \(kind.described)")
    }
}

/// One scalar of a flat JSON transaction (the reference pipeline's `data` field, the scoring API's body), as
/// the text a stream field would hold: strings as they are, integers and decimals printed, booleans `1`/`0`;
/// `nil` for null, objects and arrays.
public struct JSONScalar: Decodable, Sendable {
    /// The value as stream-field text.
    public let text: String?
    /// The JSON type when it is not a string, number or null.
    public let kind: TransactionParser.JSONKind?

    /// Decodes any JSON value; never throws for a well-formed one.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            (text, kind) = (nil, nil)
        } else if let string = try? container.decode(String.self) {
            (text, kind) = (string, nil)
        } else if let integer = try? container.decode(Int64.self) {
            (text, kind) = (String(integer), nil)
        } else if let number = try? container.decode(Double.self) {
            (text, kind) = (String(number), nil)
        } else if let flag = try? container.decode(Bool.self) {
            (text, kind) = (flag ? "1" : "0", .boolean)
        } else {
            (text, kind) = (nil, (try? container.decode([JSONScalar].self)) != nil ? .array : .object)
        }
    }
}

/// The contract's fields of one entry, first occurrence of each name kept; other names are ignored here (the
/// entry keeps them). A fixed table with names matched by a `switch` instead of a dictionary: parsing runs per
/// transaction, and hashing every field name showed in a worker's profile.
struct ContractFields {
    private var values: [String?] = Array(repeating: nil, count: 17)

    /// The slot of a contract field name, or nil.
    private static func slot(_ name: String) -> Int? {
        switch name {
        case "transaction_id": return 0
        case "user_id": return 1
        case "amount": return 2
        case "merchant_id": return 3
        case "timestamp": return 4
        case "currency": return 5
        case "card_provider": return 6
        case "merchant_category": return 7
        case "lat": return 8
        case "lon": return 9
        case "device_id": return 10
        case "ip": return 11
        case "run_id": return 12
        case "is_fraud": return 13
        case "fraud_scenario": return 14
        case "location": return 15
        case "data": return 16
        default: return nil
        }
    }

    /// Fields outside the contract, first value kept, at most ``TransactionParser/maximumExtraFields`` (the rest are
    /// ignored, as every unknown field was before features could read them).
    private(set) var extra: [String: String] = [:]

    /// Keeps `value` for `name` unless the name was seen before.
    mutating func setIfAbsent(_ name: String, _ value: String) {
        guard let slot = Self.slot(name) else {
            if extra.count < TransactionParser.maximumExtraFields, extra[name] == nil, TransactionParser.isExtraFieldName(name),
                !value.isEmpty, value.utf8.count <= TransactionParser.maximumIdentifierBytes
            {
                extra[name] = value
            }
            return
        }
        guard values[slot] == nil else { return }
        values[slot] = value
    }

    /// The value of a contract field.
    subscript(name: String) -> String? {
        guard let slot = Self.slot(name) else { return nil }
        return values[slot]
    }
}
