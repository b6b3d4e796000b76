/// One entry of the results stream, as both ways in write it (`write_result` in `fraudstream_results.lua`), decoded:
/// what `monitor` shows and prints as JSON. An entry from either path decodes to this type; the field names are
/// ``Field``.
public struct ResultRecord: Sendable, Equatable {
    /// The results stream's field names.
    public enum Field: String, CaseIterable, Sendable {
        case transactionId = "transaction_id"
        case userId = "user_id"
        case runId = "run_id"
        case score
        case isFraud = "is_fraud"
        case decision
        case reasons
        case modelVersion = "model_version"
        case workerId = "worker_id"
        case sourceId = "source_id"
        case latencyMilliseconds = "latency_ms"
        case queueMilliseconds = "queue_ms"
        case featuresMilliseconds = "features_ms"
        case scoringMilliseconds = "scoring_ms"
        case amount
        case shadowScore = "shadow_score"
        case shadowModelVersion = "shadow_model_version"
        /// `api` on the scoring API's entries; absent on the worker's.
        case source
        case rulesVersion = "rules_version"
        // The full evidence (`RESULT_EVIDENCE=full`): the contract fields present, and the feature vector.
        case merchantId = "merchant_id"
        case currency
        case cardProvider = "card_provider"
        case merchantCategory = "merchant_category"
        case lat
        case lon
        case deviceId = "device_id"
        case ip
        case timestamp
        case features

        /// The field's place in ``Field/allCases`` (a switch: hashing the raw text would cost what the decoding saves;
        /// `ResultRecordTests` checks it against `allCases`).
        var slot: Int {
            switch self {
            case .transactionId: 0
            case .userId: 1
            case .runId: 2
            case .score: 3
            case .isFraud: 4
            case .decision: 5
            case .reasons: 6
            case .modelVersion: 7
            case .workerId: 8
            case .sourceId: 9
            case .latencyMilliseconds: 10
            case .queueMilliseconds: 11
            case .featuresMilliseconds: 12
            case .scoringMilliseconds: 13
            case .amount: 14
            case .shadowScore: 15
            case .shadowModelVersion: 16
            case .source: 17
            case .rulesVersion: 18
            case .merchantId: 19
            case .currency: 20
            case .cardProvider: 21
            case .merchantCategory: 22
            case .lat: 23
            case .lon: 24
            case .deviceId: 25
            case .ip: 26
            case .timestamp: 27
            case .features: 28
            }
        }
    }

    /// The transaction's contract fields and feature vector, on an entry written with `RESULT_EVIDENCE=full`.
    public struct Evidence: Sendable, Equatable {
        public var merchantId: String
        public var currency: String
        public var cardProvider: String?
        public var merchantCategory: String?
        public var lat: Double?
        public var lon: Double?
        public var deviceId: String?
        public var ip: String?
        /// The event time, epoch ms.
        public var timestampMilliseconds: Int64?
        /// The feature vector as the entry has it (comma-separated), in the serving feature set's order.
        public var featuresText: String?

        /// The feature vector (parsed when asked: the archiver passes the text through).
        public var features: [Double]? { featuresText.map { $0.split(separator: ",").compactMap { Double($0) } } }
    }

    /// Which way the transaction came in.
    public enum Source: String, Sendable {
        case stream
        case api
    }

    /// The stream entry id.
    public var id: String
    public var transactionId: String
    public var userId: String
    public var runId: String
    public var score: Double
    public var isFraud: Bool
    public var decision: String
    /// The reason codes, in order.
    public var reasons: [String]
    public var modelVersion: Int
    /// The worker or server that decided.
    public var workerId: String
    /// The input stream entry id (the worker's), empty for the API's.
    public var sourceId: String
    public var source: Source
    /// Receipt (the API) or the input entry's time (the stream) to the decision's record, ms.
    public var latencyMilliseconds: Double
    public var queueMilliseconds: Double
    public var featuresMilliseconds: Double
    public var scoringMilliseconds: Double
    public var amount: Double
    public var shadowScore: Double?
    public var shadowModelVersion: Int?
    /// The rule set version that applied the rules; nil on a degraded answer or an entry from before versions were recorded.
    public var rulesVersion: Int?
    /// The full evidence, nil unless the entry was written with `RESULT_EVIDENCE=full`.
    public var evidence: Evidence?
    /// How many of the entry's fields are none of ``Field`` (a newer writer's, or an operator's).
    public var otherFieldCount = 0

    /// Decodes an entry; `nil` when a field every result has is missing or not a number where one is expected. The
    /// last of a repeated name counts. Each name is matched once, into a slot per field (no dictionary: the archiver
    /// decodes every entry of the stream).
    public init?(id: String, fields: [(String, String)]) {
        var values = [String?](repeating: nil, count: Field.allCases.count)
        var others = 0
        for (name, value) in fields {
            guard let field = Field(rawValue: name) else {
                others += 1
                continue
            }
            values[field.slot] = value
        }
        func value(_ field: Field) -> String? { values[field.slot] }
        guard let transactionId = value(.transactionId), let userId = value(.userId), let decision = value(.decision),
            let score = value(.score).flatMap(Double.init), let modelVersion = value(.modelVersion).flatMap(Int.init)
        else { return nil }
        self.id = id
        self.transactionId = transactionId
        self.userId = userId
        self.runId = value(.runId) ?? ""
        self.score = score
        self.isFraud = value(.isFraud) == "1"
        self.decision = decision
        self.reasons = (value(.reasons) ?? "").split(separator: ",").map(String.init)
        self.modelVersion = modelVersion
        self.workerId = value(.workerId) ?? ""
        self.sourceId = value(.sourceId) ?? ""
        self.source = value(.source).flatMap(Source.init(rawValue:)) ?? .stream
        self.latencyMilliseconds = value(.latencyMilliseconds).flatMap(Double.init) ?? 0
        self.queueMilliseconds = value(.queueMilliseconds).flatMap(Double.init) ?? 0
        self.featuresMilliseconds = value(.featuresMilliseconds).flatMap(Double.init) ?? 0
        self.scoringMilliseconds = value(.scoringMilliseconds).flatMap(Double.init) ?? 0
        self.amount = value(.amount).flatMap(Double.init) ?? 0
        self.shadowScore = value(.shadowScore).flatMap(Double.init)
        self.shadowModelVersion = value(.shadowModelVersion).flatMap(Int.init)
        self.rulesVersion = value(.rulesVersion).flatMap(Int.init)
        self.otherFieldCount = others
        if let merchantId = value(.merchantId) {
            evidence = Evidence(
                merchantId: merchantId, currency: value(.currency) ?? "", cardProvider: value(.cardProvider),
                merchantCategory: value(.merchantCategory), lat: value(.lat).flatMap(Double.init), lon: value(.lon).flatMap(Double.init),
                deviceId: value(.deviceId), ip: value(.ip), timestampMilliseconds: value(.timestamp).flatMap { Int64($0) },
                featuresText: value(.features))
        }
    }

    /// The entry as a JSON object: numbers as numbers, the reasons as the stream has them (comma-separated).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            Field.transactionId.rawValue: transactionId, Field.userId.rawValue: userId, Field.runId.rawValue: runId,
            Field.score.rawValue: score, Field.isFraud.rawValue: isFraud ? 1 : 0, Field.decision.rawValue: decision,
            Field.reasons.rawValue: reasons.joined(separator: ","), Field.modelVersion.rawValue: modelVersion,
            Field.workerId.rawValue: workerId, Field.sourceId.rawValue: sourceId, Field.latencyMilliseconds.rawValue: latencyMilliseconds,
            Field.queueMilliseconds.rawValue: queueMilliseconds, Field.featuresMilliseconds.rawValue: featuresMilliseconds,
            Field.scoringMilliseconds.rawValue: scoringMilliseconds, Field.amount.rawValue: amount,
        ]
        if source == .api { object[Field.source.rawValue] = source.rawValue }
        if let shadowScore { object[Field.shadowScore.rawValue] = shadowScore }
        if let shadowModelVersion { object[Field.shadowModelVersion.rawValue] = shadowModelVersion }
        if let rulesVersion { object[Field.rulesVersion.rawValue] = rulesVersion }
        if let evidence {
            object[Field.merchantId.rawValue] = evidence.merchantId
            object[Field.currency.rawValue] = evidence.currency
            if let value = evidence.cardProvider { object[Field.cardProvider.rawValue] = value }
            if let value = evidence.merchantCategory { object[Field.merchantCategory.rawValue] = value }
            if let value = evidence.lat { object[Field.lat.rawValue] = value }
            if let value = evidence.lon { object[Field.lon.rawValue] = value }
            if let value = evidence.deviceId { object[Field.deviceId.rawValue] = value }
            if let value = evidence.ip { object[Field.ip.rawValue] = value }
            if let value = evidence.timestampMilliseconds { object[Field.timestamp.rawValue] = value }
            if let value = evidence.features { object[Field.features.rawValue] = value }
        }
        return object
    }
}
