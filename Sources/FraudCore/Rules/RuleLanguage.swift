/// The rule language: a small, safe expression over a transaction's fields and its feature vector, with an
/// outcome and a reason code.
///
/// ```
/// amount > 2000 and distance_from_home_km > 500 and new_device => review reason far_new_device_high_amount
/// merchant_category in ["gift_cards", "jewelry"] and tx_count_1h >= 3 => score +0.2 reason gift_card_burst
/// ```
///
/// Grammar (precedence from low to high): `or`, `and`, `not`, comparisons (`==` `!=` `<` `<=` `>` `>=`,
/// `in [..]`, `not in [..]`), `+ -`, `* /`, unary `-`; literals are numbers, `"strings"`, `true`, `false`.
/// Names are the features of ``FeatureSchema`` (numbers; the 0/1 indicators `new_device`, `unknown_user`,
/// `ip_blocklisted`, `click_spam`, `preferred_card_match` are booleans), the transaction's text fields
/// (`merchant_id`, `merchant_category`, `card_provider`, `device_id`, `ip`, `user_id`) and `score` (the model's).
/// Outcomes: `decline`, `review`, `approve` or `score +x` / `score -x`.
///
/// A rule is parsed and type-checked once, with errors that name the column, and compiled into closures: no
/// string is parsed per transaction, and nothing but these operators can run. Input is bounded
/// (``maximumLength``, ``maximumDepth``, ``maximumListItems``).
public enum RuleLanguage {
    /// The longest rule accepted, in bytes.
    public static let maximumLength = 2_000
    /// The deepest nesting of parentheses and operators accepted.
    public static let maximumDepth = 32
    /// The most items of one `in [..]` list.
    public static let maximumListItems = 256

    /// A rule that does not parse or does not type-check: what is wrong and where (1-based column).
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based column of the offending character or token.
        public var column: Int
        /// What is wrong.
        public var message: String
        public var description: String { "column \(column): \(message)" }
    }

    /// Value types.
    public enum ValueType: String, Sendable {
        case number, text, boolean
    }

    /// The boolean indicator features (0/1 in the vector).
    public static let booleanFeatures: Set<String> = ["new_device", "unknown_user", "ip_blocklisted", "click_spam", "preferred_card_match"]
    /// The transaction's text fields a rule may read.
    public static let textFields = ["merchant_id", "merchant_category", "card_provider", "device_id", "ip", "user_id"]

    /// The type of a name, or nil when the language does not know it.
    static func type(of name: String) -> ValueType? {
        if booleanFeatures.contains(name) { return .boolean }
        if FeatureSchema.names.contains(name) || name == "score" { return .number }
        if textFields.contains(name) { return .text }
        return nil
    }
}

/// What a rule reads: the feature vector, the model's score, and the transaction's text fields.
public struct RuleInput {
    /// The feature vector (``FeatureSchema`` order).
    public var features: [Double]
    /// The model's score.
    public var score: Double
    /// The transaction, when the caller has it (text fields are empty otherwise).
    public var transaction: Transaction?

    /// Creates an input.
    public init(features: [Double], score: Double, transaction: Transaction?) {
        self.features = features
        self.score = score
        self.transaction = transaction
    }

    func text(_ field: Int) -> String {
        guard let transaction else { return "" }
        switch field {
        case 0: return transaction.merchantId
        case 1: return transaction.merchantCategory ?? ""
        case 2: return transaction.cardProvider ?? ""
        case 3: return transaction.deviceId ?? ""
        case 4: return transaction.ip ?? ""
        default: return transaction.userId
        }
    }
}

// MARK: Lexing

struct RuleToken: Equatable {
    enum Kind: Equatable {
        case number(Double), text(String), name(String), symbol(String), end
    }
    var kind: Kind
    var column: Int
}

enum RuleLexer {
    static let symbols = ["=>", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", "="]

    static func tokens(_ source: String) throws(RuleLanguage.Problem) -> [RuleToken] {
        guard source.utf8.count <= RuleLanguage.maximumLength else {
            throw RuleLanguage.Problem(column: RuleLanguage.maximumLength + 1, message: "rule longer than \(RuleLanguage.maximumLength) bytes")
        }
        let characters = Array(source)
        var tokens: [RuleToken] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let column = index + 1
            if character == " " || character == "\t" {
                index += 1
            } else if character.isNumber || (character == "." && index + 1 < characters.count && characters[index + 1].isNumber) {
                var end = index
                while end < characters.count && (characters[end].isNumber || characters[end] == ".") { end += 1 }
                guard let value = Double(String(characters[index..<end])), value.isFinite else {
                    throw RuleLanguage.Problem(column: column, message: "'\(String(characters[index..<end]))' is not a number")
                }
                tokens.append(RuleToken(kind: .number(value), column: column))
                index = end
            } else if character == "\"" {
                var end = index + 1
                while end < characters.count && characters[end] != "\"" { end += 1 }
                guard end < characters.count else { throw RuleLanguage.Problem(column: column, message: "string not closed with \"") }
                tokens.append(RuleToken(kind: .text(String(characters[(index + 1)..<end])), column: column))
                index = end + 1
            } else if character.isLetter || character == "_" {
                var end = index
                while end < characters.count && (characters[end].isLetter || characters[end].isNumber || characters[end] == "_") { end += 1 }
                tokens.append(RuleToken(kind: .name(String(characters[index..<end])), column: column))
                index = end
            } else if let symbol = symbols.first(where: { symbol in
                let symbolCharacters = Array(symbol)
                return index + symbolCharacters.count <= characters.count && Array(characters[index..<(index + symbolCharacters.count)]) == symbolCharacters
            }) {
                tokens.append(RuleToken(kind: .symbol(symbol), column: column))
                index += symbol.count
            } else {
                throw RuleLanguage.Problem(column: column, message: "unexpected character '\(character)'")
            }
        }
        tokens.append(RuleToken(kind: .end, column: characters.count + 1))
        return tokens
    }
}
