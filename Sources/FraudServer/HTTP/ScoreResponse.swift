import FraudCore

/// The body of a decision: `POST /v1/score` and each element of `POST /v1/score/batch`.
struct ScoreResponse: Encodable {
    var transactionId: String
    var score: Double
    var isFraud: Bool
    var decision: String
    var reasons: [String]
    var modelVersion: Int
    var latencyMs: Double
    var degraded: Bool
    var replayed: Bool
    var explanation: Explanation?

    /// With `?explain=true`: the feature vector (the built-in features and the promoted feature set's) and the
    /// features that moved the score most.
    struct Explanation: Encodable {
        var features: [String: Double]
        var baseMargin: Double
        var margin: Double
        var topContributions: [Contribution]

        enum CodingKeys: String, CodingKey {
            case features
            case baseMargin = "base_margin"
            case margin
            case topContributions = "top_contributions"
        }
    }

    /// One feature's share of the margin (positive: towards fraud).
    struct Contribution: Encodable {
        var feature: String
        var value: Double
        var contribution: Double
    }

    /// Contributions listed in an explanation.
    static let topContributionCount = 5

    init(transaction: Transaction, answer: DecisionAnswer, latencyMicroseconds: Int64) {
        transactionId = transaction.transactionId
        score = (answer.decision.score * 1_000_000).rounded() / 1_000_000
        isFraud = answer.decision.isFraud
        decision = answer.decision.decision
        reasons = answer.decision.reasons.isEmpty ? [] : answer.decision.reasons.split(separator: ",").map(String.init)
        modelVersion = answer.decision.modelVersion
        latencyMs = Double(latencyMicroseconds / 10) / 100
        degraded = answer.degraded
        replayed = answer.replayed
        if let vector = answer.features, let contributions = answer.contributions, let base = answer.baseMargin {
            let names = answer.featureNames ?? FeatureSchema.names
            var features: [String: Double] = [:]
            for (name, value) in zip(names, vector) where value.isFinite { features[name] = value }
            let top = zip(names.indices, contributions)
                .filter { $0.1 != 0 && $0.0 < vector.count }
                .sorted { abs($0.1) > abs($1.1) }
                .prefix(Self.topContributionCount)
                .map { Contribution(feature: names[$0.0], value: vector[$0.0], contribution: $0.1) }
            explanation = Explanation(
                features: features, baseMargin: base, margin: base + contributions.reduce(0, +), topContributions: Array(top))
        }
    }

    enum CodingKeys: String, CodingKey {
        case transactionId = "transaction_id"
        case score
        case isFraud = "is_fraud"
        case decision
        case reasons
        case modelVersion = "model_version"
        case latencyMs = "latency_ms"
        case degraded
        case replayed
        case explanation
    }
}

/// One element of a batch answer: a decision, or why the transaction was not scored.
enum BatchElement: Encodable {
    case decided(ScoreResponse)
    case rejected(index: Int, transactionId: String?, status: Int, code: String, message: String)

    struct Rejected: Encodable {
        var index: Int
        var transaction_id: String?
        var status: Int
        var error: String
        var message: String
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .decided(let response): try response.encode(to: encoder)
        case .rejected(let index, let id, let status, let code, let message):
            try Rejected(index: index, transaction_id: id, status: status, error: code, message: message).encode(to: encoder)
        }
    }
}

/// The body of `POST /v1/score/batch`.
struct BatchAnswer: Encodable {
    var results: [BatchElement]
}

extension ScoreResponse {
    /// The body as JSON text, written directly (keys sorted, as `JSONEncoder` with `.sortedKeys` writes them);
    /// `nil` when there is an explanation, which goes through `JSONEncoder`. Per request, the encoder's
    /// machinery was a twentieth of the server's CPU.
    var directJSON: String? {
        guard explanation == nil else { return nil }
        var text = "{\"decision\":"
        text += Self.quoted(decision)
        text += ",\"degraded\":\(degraded),\"is_fraud\":\(isFraud),\"latency_ms\":\(latencyMs),\"model_version\":\(modelVersion),\"reasons\":["
        for (index, reason) in reasons.enumerated() {
            if index > 0 { text += "," }
            text += Self.quoted(reason)
        }
        text += "],\"replayed\":\(replayed),\"score\":\(score),\"transaction_id\":"
        text += Self.quoted(transactionId)
        text += "}"
        return text
    }

    /// A JSON string literal.
    static func quoted(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
