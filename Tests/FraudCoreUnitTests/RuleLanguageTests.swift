import Testing

@testable import FraudCore

@Suite("The rule language (no server)")
struct RuleLanguageTests {
    static func input(_ set: [String: Double] = [:], score: Double = 0.1, transaction: Transaction? = nil) -> RuleInput {
        var features = [Double](repeating: 0, count: FeatureSchema.count)
        for (name, value) in set { features[FeatureSchema.names.firstIndex(of: name)!] = value }
        return RuleInput(features: features, score: score, transaction: transaction)
    }

    static func problem(_ source: String) -> RuleLanguage.Problem? {
        do {
            _ = try Rule.parse(source)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesTheIssuesExampleAndEvaluatesIt() throws {
        let rule = try Rule.parse("amount > 2000 and distance_from_home_km > 500 and new_device => review reason far_new_device_high_amount")
        #expect(rule.outcome == .review && rule.reason == "far_new_device_high_amount")
        #expect(rule.matches(Self.input(["amount": 2500, "distance_from_home_km": 800, "new_device": 1])))
        #expect(!rule.matches(Self.input(["amount": 2500, "distance_from_home_km": 800, "new_device": 0])))
        #expect(!rule.matches(Self.input(["amount": 1500, "distance_from_home_km": 800, "new_device": 1])))
    }

    @Test func operatorsListsArithmeticAndTextFields() throws {
        let transaction = Transaction(
            transactionId: "t", userId: "u1", amount: 30, merchantId: "m9", timestampMilliseconds: 1_790_812_800_000, cardProvider: "VISA",
            merchantCategory: "gift_cards", latitude: nil, longitude: nil, deviceId: nil, ip: "10.0.0.1")
        let list = try Rule.parse(#"merchant_category in ["gift_cards", "jewelry"] and tx_count_1h >= 3 => score +0.2 reason gift_card_burst"#)
        #expect(list.outcome == .score(0.2))
        #expect(list.matches(Self.input(["tx_count_1h": 3], transaction: transaction)))
        #expect(!list.matches(Self.input(["tx_count_1h": 3])))  // no transaction: text fields are empty
        let arithmetic = try Rule.parse("amount * 2 - 10 / 5 >= 58 and not (card_provider != \"VISA\") => decline reason doubled")
        #expect(arithmetic.matches(Self.input(["amount": 30], transaction: transaction)))
        #expect(!arithmetic.matches(Self.input(["amount": 29], transaction: transaction)))
        let negative = try Rule.parse("amount_zscore < -2 or score >= 0.95 or hour_of_day not in [9, 10, 11] => approve reason odd")
        #expect(negative.matches(Self.input(["amount_zscore": -3, "hour_of_day": 10])))
        #expect(!negative.matches(Self.input(["amount_zscore": 0, "hour_of_day": 10], score: 0.5)))
        #expect(negative.matches(Self.input(["hour_of_day": 3])))
        #expect(try Rule.parse("amount / 0 == 0 => score -0.1 reason safe_division").matches(Self.input(["amount": 5])))
        #expect(try Rule.parse("true => score +0 reason always").outcome == .score(0))
    }

    @Test func errorsNameTheColumn() {
        #expect(Self.problem("amount > \"big\" => review reason x") == RuleLanguage.Problem(column: 8, message: "cannot compare a number with a text using '>'"))
        #expect(Self.problem("amuont > 5 => review reason x")?.column == 1)
        #expect(Self.problem("amuont > 5 => review reason x")?.message.hasPrefix("unknown name 'amuont'") == true)
        #expect(Self.problem("amount > 5 => block reason x")?.column == 15)
        #expect(Self.problem("amount > 5 => review")?.message == "expected 'reason <code>' after the outcome")
        #expect(Self.problem("amount + 5 => review reason x")?.message == "the condition is a number, not a boolean")
        #expect(Self.problem("new_device and amount => review reason x") == RuleLanguage.Problem(column: 16, message: "'and' needs booleans, not a number"))
        #expect(Self.problem("(amount > 5 => review reason x")?.message == "expected ')' to close the '(' at column 1")
        #expect(Self.problem("amount in [1, \"a\"] => review reason x")?.column == 15)
        #expect(Self.problem("amount > 5 => review reason Bad-Code")?.column == 29)
        #expect(Self.problem("amount > 5 => score +3 reason x")?.message == "expected a number between 0 and 1 after 'score +'")
        #expect(Self.problem("ip == \"1.2.3.4 => review reason x")?.message == "string not closed with \"")
    }

    @Test func nothingButTheLanguageRunsAndHugeOrDeepInputIsRefused() {
        // No calls, no field access, no code: these are syntax errors, not executions.
        #expect(Self.problem(#"os.execute("rm -rf /") => review reason x"#)?.message == "unexpected character '.'")
        #expect(Self.problem(#"redis.call("FLUSHALL") => review reason x"#) != nil)
        #expect(Self.problem("amount > 5; amount < 3 => review reason x")?.message == "unexpected character ';'")
        let deep = String(repeating: "(", count: 200) + "amount > 1" + String(repeating: ")", count: 200) + " => review reason x"
        #expect(Self.problem(deep)?.message.hasPrefix("nested deeper than") == true)
        let negations = String(repeating: "not ", count: 100) + "new_device => review reason x"
        #expect(Self.problem(negations)?.message.hasPrefix("nested deeper than") == true)
        let long = "amount > " + String(repeating: "1", count: 3_000) + " => review reason x"
        #expect(Self.problem(long)?.message.hasPrefix("rule longer than") == true)
        let bigList = "hour_of_day in [" + (0..<300).map(String.init).joined(separator: ",") + "] => review reason x"
        #expect(Self.problem(bigList)?.message.hasPrefix("lists hold at most") == true)
    }

    @Test func ruleFilesWithWindowsLineEndingsAndHashesInStrings() throws {
        let set = try RuleSet(parsing: "# header\r\nmerchant_id == \"m#1\" => review reason hash_merchant # comment\r\nnew_device => score +0 reason nd\r\n")
        #expect(set.rules.map(\.reason) == ["hash_merchant", "nd"])
        let transaction = Transaction(transactionId: "t", userId: "u", amount: 1, merchantId: "m#1", timestampMilliseconds: 1)
        #expect(set.rules[0].matches(Self.input(transaction: transaction)))
    }

    @Test func ruleFilesSkipCommentsAndReportTheLine() throws {
        let set = try RuleSet(parsing: "# header\n\namount > 100 => review reason big  # trailing comment\nnew_device => score +0.1 reason nd\n")
        #expect(set.rules.map(\.reason) == ["big", "nd"])
        do {
            _ = try RuleSet(parsing: "amount > 1 => review reason a\n\namount >> 2 => review reason b\n")
            Issue.record("a bad line was accepted")
        } catch {
            #expect(error.line == 3 && error.problem.column == 9)
        }
    }

    /// The reasons and decisions FraudStream made before rules were data, written out as they were.
    static func previousDecision(score: Double, features f: [Double]) -> (decision: String, isFraud: Bool, reasons: String) {
        var codes: [String] = []
        if f[Feature.unknownUser] == 1 { codes.append("new_user") }
        if f[Feature.ipBlocklisted] == 1 { codes.append("ip_blocklist") }
        if f[Feature.clickSpam] == 1 { codes.append("click_spam") }
        if f[Feature.transactionsLastMinute] >= 5 { codes.append("velocity_1m") }
        if f[Feature.transactionsLastHour] >= 20 { codes.append("velocity_1h") }
        if f[Feature.transactionsLastMinute] >= 3 && f[Feature.amount] < 5 { codes.append("card_testing") }
        if f[Feature.travelSpeedKilometresPerHour] > 900 { codes.append("impossible_travel") }
        if f[Feature.userTransactionCount] >= 3 && f[Feature.amountToMeanRatio] >= 5 { codes.append("amount_spike") }
        if f[Feature.newDevice] == 1 && f[Feature.userTransactionCount] > 0 { codes.append("new_device") }
        if f[Feature.distanceFromHomeKilometres] > 1_000 { codes.append("far_from_home") }
        if f[Feature.distinctMerchantsLastHour] >= 5 { codes.append("many_merchants_1h") }
        let isFraud = score >= 0.7
        var decision = isFraud ? "decline" : (score >= 0.3 ? "review" : "approve")
        if decision == "approve" && codes.contains(where: ["ip_blocklist", "impossible_travel", "click_spam"].contains) { decision = "review" }
        if isFraud && codes.allSatisfy({ $0 == "new_user" }) { codes.append("model_score") }
        return (decision, isFraud, codes.joined(separator: ","))
    }

    @Test func theDefaultRuleSetDecidesExactlyAsTheOldCodeDid() {
        var random = SeededRandom(seed: 99)
        var edges: [Int: [Double]] = [:]
        let pairs: [(Int, [Double])] = [
            (Feature.unknownUser, [0, 1]), (Feature.ipBlocklisted, [0, 1]), (Feature.clickSpam, [0, 1]), (Feature.newDevice, [0, 1]),
            (Feature.transactionsLastMinute, [0, 2, 3, 4, 5, 6]), (Feature.transactionsLastHour, [0, 19, 20, 21]),
            (Feature.amount, [1, 4.99, 5, 20, 3_000]), (Feature.travelSpeedKilometresPerHour, [0, 900, 900.5, 5_000]),
            (Feature.userTransactionCount, [0, 1, 2, 3, 40]), (Feature.amountToMeanRatio, [0, 4.99, 5, 9]),
            (Feature.distanceFromHomeKilometres, [0, 1_000, 1_000.1]), (Feature.distinctMerchantsLastHour, [0, 4, 5, 6]),
        ]
        for (index, values) in pairs { edges[index] = values }
        let rules = FraudRules(threshold: 0.7, reviewThreshold: 0.3)
        for _ in 0..<20_000 {
            var features = [Double](repeating: 0, count: FeatureSchema.count)
            for (index, values) in edges { features[index] = values[Int(random.next() % UInt64(values.count))] }
            let scores: [Double] = [0.0, 0.29, 0.3, 0.5, 0.69, 0.7, 0.99]
            let score = scores[Int(random.next() % 7)]
            let expected = Self.previousDecision(score: score, features: features)
            let actual = rules.decide(score: score, features: features, modelVersion: 1)
            #expect(actual.decision == expected.decision && actual.isFraud == expected.isFraud && actual.reasons == expected.reasons,
                    "\(features) score \(score)")
            if actual.reasons != expected.reasons { return }
        }
    }

    @Test func outcomesCombineAsDocumented() throws {
        let set = try RuleSet(parsing: """
            merchant_category == "trusted" => approve reason allow_trusted
            amount > 1000 => score +0.3 reason big
            ip_blocklisted => decline reason blocked
            """)
        let rules = FraudRules(threshold: 0.7, reviewThreshold: 0.3, ruleSet: set)
        let trusted = Transaction(
            transactionId: "t", userId: "u", amount: 5, merchantId: "m", timestampMilliseconds: 1, cardProvider: nil,
            merchantCategory: "trusted", latitude: nil, longitude: nil, deviceId: nil, ip: nil)
        var features = [Double](repeating: 0, count: FeatureSchema.count)
        // An allow rule overrides the model…
        #expect(rules.decide(score: 0.9, features: features, modelVersion: 1, transaction: trusted).decision == "approve")
        // …but not a decline rule.
        features[Feature.ipBlocklisted] = 1
        let blocked = rules.decide(score: 0.1, features: features, modelVersion: 1, transaction: trusted)
        #expect(blocked.decision == "decline" && blocked.isFraud && blocked.reasons == "allow_trusted,blocked")
        // A score rule moves the score across the threshold.
        features[Feature.ipBlocklisted] = 0
        features[Feature.amount] = 2_000
        let moved = rules.decide(score: 0.5, features: features, modelVersion: 1)
        #expect(moved.decision == "decline" && abs(moved.score - 0.8) < 1e-12)
    }
}
