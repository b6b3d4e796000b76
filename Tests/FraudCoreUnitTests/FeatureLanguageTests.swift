import Foundation
import Testing

@testable import FraudCore

/// The feature language (issue 25, first part): definitions parsed and checked once, errors naming line and column.
@Suite("Feature definition language (no server)")
struct FeatureLanguageTests {
    static func input(_ features: [String: Double] = [:], transaction: Transaction? = nil) -> RuleInput {
        var vector = [Double](repeating: 0, count: FeatureSchema.count)
        for (name, value) in features { vector[FeatureSchema.index(of: name) ?? 0] = value }
        return RuleInput(features: vector, score: 0, transaction: transaction)
    }

    @Test func theIssuesExamplesParse() throws {
        let set = try FeatureSet.parse("""
            # velocity over other entities
            ip_spend_10m = sum(amount) by ip over 10m
            device_cards_1h = distinct(user_id) by device_id over 1h

            bin_small_1d = count() by prefix(card_number_hash, 6) over 24h where amount < 2
            merchant_new_device_share_1h = ratio(count() where new_device = 1, count()) by merchant_id over 1h
            email_age_days = age() by email_hash
            gap = since_last() by device_id
            ip_max_30d = max(amount) by ip over 30d
            """)
        #expect(set.definitions.map(\.name) == [
            "ip_spend_10m", "device_cards_1h", "bin_small_1d", "merchant_new_device_share_1h", "email_age_days", "gap", "ip_max_30d",
        ])
        let spend = set.definitions[0]
        #expect(spend.kind == .sum && spend.measures.first?.field == "amount" && spend.entity == .init(field: "ip", prefix: nil))
        #expect(spend.windowMilliseconds == 600_000)
        #expect(set.definitions[1].kind == .distinct && set.definitions[1].measures.first?.field == "user_id")
        let small = set.definitions[2]
        #expect(small.entity == .init(field: "card_number_hash", prefix: 6) && small.windowMilliseconds == 86_400_000)
        #expect(small.measures.first?.filter == "amount < 2")
        let share = set.definitions[3]
        #expect(share.kind == .ratio && share.measures.count == 2 && share.measures[0].filter == "new_device = 1" && share.measures[1].filter == nil)
        // The filters are compiled: `new_device = 1` reads the indicator.
        #expect(share.measures[0].condition?(Self.input(["new_device": 1])) == true)
        #expect(share.measures[0].condition?(Self.input(["new_device": 0])) == false)
        #expect(small.measures[0].condition?(Self.input(["amount": 1.5])) == true)
        #expect(small.measures[0].condition?(Self.input(["amount": 2])) == false)
        #expect(set.definitions[4].kind == .age && set.definitions[4].windowMilliseconds == nil)
        #expect(set.definitions[6].windowMilliseconds == Int64(30 * 86_400_000))
    }

    @Test func mistakesNameTheLineAndColumn() {
        let cases: [(String, Int, Int, String)] = [
            ("x = sum(amount) by ip over 40d", 1, 28, "windows run from 1s to 30d"),
            ("x = sum(amount) by ip over 30w", 1, 30, "unit is s, m, h or d"),
            ("x = sum(amount) by ip over 0s", 1, 28, "expected a window"),
            ("x = sum(amount) by ip", 1, 5, "needs a window"),
            ("x = age() by ip over 1h", 1, 5, "takes no window"),
            ("x = median(amount) by ip over 1h", 1, 5, "unknown aggregation 'median'"),
            ("x = sum(merchant_id) by ip over 1h", 1, 9, "reads a number"),
            ("x = distinct(amount) by ip over 1h", 1, 14, "distinct counts a text field"),
            ("x = ratio(avg(amount), count()) by ip over 1h", 1, 5, "ratio divides counts or sums"),
            ("x = count() by amount over 1h", 1, 16, "cannot be an entity"),
            ("x = count() by prefix(ip, 0) over 1h", 1, 27, "prefix length"),
            ("x = count() by ip over 1h where score > 0.5", 1, 33, "cannot read score"),
            ("x = count() by ip over 1h where amount", 1, 27, "not a boolean"),
            ("x = count() by ip over 1h where amount = ", 1, 42, "ends where a value was expected"),
            ("amount = count() by ip over 1h", 1, 1, "already a built-in feature"),
            ("x count() by ip over 1h", 1, 3, "'='"),
            ("x = count() by ip over 1h extra", 1, 27, "unexpected text"),
            ("ok = count() by ip over 1h\nok = count() by ip over 2h", 2, 1, "already defined on line 1"),
        ]
        for (text, line, column, message) in cases {
            do {
                _ = try FeatureSet.parse(text)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.line == line && error.problem.column == column, "\(text): \(error)")
                #expect(error.problem.message.contains(message), "\(text): \(error)")
            }
        }
    }

    @Test func rulesCompareIndicatorsWithZeroAndOneAndRefuseALoneEquals() throws {
        let rule = try Rule.parse("new_device == 1 and click_spam != 1 => review reason fresh_device")
        #expect(rule.matches(Self.input(["new_device": 1])))
        #expect(!rule.matches(Self.input(["new_device": 1, "click_spam": 1])))
        #expect(throws: RuleLanguage.Problem.self) { try Rule.parse("new_device == 2 => review reason x") }
        do {
            _ = try Rule.parse("amount = 5 => decline reason x")
            Issue.record("a lone '=' was accepted")
        } catch {
            #expect(error.column == 8 && error.message.contains("use '=='"), "\(error)")
        }
    }
    @Test func versionZeroIsDefinitionsTheKernelsAnswerByWhatTheyAsk() throws {
        var settings = FeatureSettings()
        settings.clickSpamWindowSeconds = 90
        let text = BuiltInFeatures.text(settings: settings)
        #expect(text.contains("tx_count_1h = count() by user_id over 1h\n"))
        // 90 s is written in seconds, 120 s would be 2m.
        #expect(text.contains("device_events_window = count() by device_id over 90s\n"))
        let definitions = BuiltInFeatures.definitions(settings: settings)
        #expect(definitions.map(\.windowMilliseconds) == [60_000, 3_600_000, 86_400_000, 90_000])
        // Every built-in feature is either a definition or named, with a reason, as computed in code.
        let inCode = BuiltInFeatures.inCode.flatMap(\.names)
        #expect(Set(definitions.map(\.name) + inCode) == Set(FeatureSchema.names) && definitions.count + inCode.count == FeatureSchema.count)
        // A team cannot define a built-in name; the kernels serve a definition by what it asks, not by its name.
        #expect(throws: RuleLanguage.Problem.self) { try FeatureDefinition.parse("tx_count_1h = count() by user_id over 1h") }
        let kernel = BuiltInFeatures.Kernel(settings: settings)
        let cases: [(String, Int?)] = [
            ("a = count() by user_id over 60m", Feature.transactionsLastHour),
            ("a = count() by user_id over 24h", Feature.transactionsLastDay),
            ("a = count() by user_id over 1m", Feature.transactionsLastMinute),
            ("a = count() by device_id over 90s", Feature.deviceEventsInWindow),
            ("a = count() by device_id over 5s", nil),
            ("a = count() by user_id over 2h", nil),
            ("a = count() by user_id over 1h where amount > 5", nil),
            ("a = count() by prefix(user_id, 4) over 1h", nil),
            ("a = sum(amount) by user_id over 1h", nil),
            ("a = count() by ip over 1h", nil),
        ]
        for (line, expected) in cases { #expect(kernel.builtIn(for: try FeatureDefinition.parse(line)) == expected, "\(line)") }
    }
}
