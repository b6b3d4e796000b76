import Foundation

/// What a model and a rule set decide on labelled history: precision and recall overall and per fraud scenario,
/// and each rule's hits and precision. Pure: the same rows give the same report.
public struct Backtest: Sendable, Equatable {
    /// Counts of one slice of the labelled rows.
    public struct Counts: Sendable, Equatable {
        /// Labelled fraud.
        public var fraud = 0
        /// Fraud declined (`is_fraud` 1).
        public var declined = 0
        /// Fraud declined or sent to review.
        public var flagged = 0
    }

    /// One rule's hits.
    public struct RuleCounts: Sendable, Equatable {
        /// Rows it matched.
        public var hits = 0
        /// Of those, fraud.
        public var fraud = 0
    }

    /// Rows decided.
    public var rows = 0
    /// Declined rows, and how many of them were fraud.
    public var declined = 0, declinedFraud = 0
    /// All fraud.
    public var overall = Counts()
    /// Fraud by scenario.
    public var scenarios: [String: Counts] = [:]
    /// Hits by reason code.
    public var rules: [String: RuleCounts] = [:]

    /// Decides the rows of the last `evaluateFraction` of event time (the history is in event-time order,
    /// `rows[i]` the features before `history[i]`).
    public static func run(
        history: [Transaction], rows: [[Double]], model: ModelRecord, rules: FraudRules, evaluateFraction: Double
    ) -> Backtest {
        var report = Backtest()
        guard let first = history.first?.timestampMilliseconds, let last = history.last?.timestampMilliseconds else { return report }
        let cutoff = Double(last) - Double(last - first) * evaluateFraction
        for (transaction, row) in zip(history, rows) where Double(transaction.timestampMilliseconds) >= cutoff {
            let decision = rules.decide(
                score: model.probability(row), features: row, modelVersion: model.version, transaction: transaction)
            let isFraud = transaction.isFraud == true
            report.rows += 1
            if decision.isFraud {
                report.declined += 1
                if isFraud { report.declinedFraud += 1 }
            }
            if isFraud {
                let flagged = decision.decision != "approve"
                for key in [nil, transaction.scenario ?? "unknown"] {
                    var counts = key.map { report.scenarios[$0] ?? Counts() } ?? report.overall
                    counts.fraud += 1
                    if decision.isFraud { counts.declined += 1 }
                    if flagged { counts.flagged += 1 }
                    if let key { report.scenarios[key] = counts } else { report.overall = counts }
                }
            }
            for reason in decision.reasons.split(separator: ",") {
                report.rules[String(reason), default: RuleCounts()].hits += 1
                if isFraud { report.rules[String(reason), default: RuleCounts()].fraud += 1 }
            }
        }
        return report
    }

    /// Declined fraud over declined, or nil.
    public var precision: Double? { declined > 0 ? Double(declinedFraud) / Double(declined) : nil }

    static func ratio(_ numerator: Int, _ denominator: Int) -> String {
        denominator == 0 ? "n/a" : String(format: "%.4f", Double(numerator) / Double(denominator))
    }

    /// The report for people.
    public func text(model: Int, rules ruleVersion: Int) -> String {
        var lines = [
            "backtest    model v\(model), rules v\(ruleVersion): \(rows) transactions decided, \(overall.fraud) labelled fraud",
            "overall     precision \(Self.ratio(declinedFraud, declined)) (\(declinedFraud) of \(declined) declined), "
                + "recall \(Self.ratio(overall.declined, overall.fraud)) declined, \(Self.ratio(overall.flagged, overall.fraud)) declined or reviewed",
            "scenario                    fraud  recall (declined)  recall (declined or reviewed)",
        ]
        for (scenario, counts) in scenarios.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "  " + scenario.padding(toLength: 24, withPad: " ", startingAt: 0) + String(counts.fraud).leftPadded(7, with: " ")
                    + Self.ratio(counts.declined, counts.fraud).leftPadded(19, with: " ") + Self.ratio(counts.flagged, counts.fraud).leftPadded(31, with: " "))
        }
        lines.append("rule                        hits   precision (fraud among hits)")
        for (reason, counts) in rules.sorted(by: { $0.value.hits != $1.value.hits ? $0.value.hits > $1.value.hits : $0.key < $1.key }) {
            lines.append(
                "  " + reason.padding(toLength: 24, withPad: " ", startingAt: 0) + String(counts.hits).leftPadded(7, with: " ")
                    + "   " + Self.ratio(counts.fraud, counts.hits))
        }
        return lines.joined(separator: "\n")
    }

    /// The report for scripts.
    public func jsonObject(model: Int, rules ruleVersion: Int) -> [String: Any] {
        [
            "model_version": model, "rules_version": ruleVersion, "transactions": rows, "fraud": overall.fraud, "declined": declined,
            "declined_fraud": declinedFraud, "precision": precision as Any,
            "recall": overall.fraud > 0 ? Double(overall.declined) / Double(overall.fraud) : NSNull(),
            "scenarios": scenarios.mapValues { ["fraud": $0.fraud, "declined": $0.declined, "flagged": $0.flagged] },
            "rules": rules.mapValues { ["hits": $0.hits, "fraud": $0.fraud] },
        ]
    }
}
