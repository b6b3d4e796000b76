/// One compiled rule: a condition, an outcome and a reason code (see ``RuleLanguage``).
public struct Rule: Sendable, CustomStringConvertible {
    /// What a matching rule does.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// Decline, whatever the score.
        case decline
        /// At least review.
        case review
        /// Approve, unless a decline or review rule also matches (an allow rule).
        case approve
        /// Add this to the model's score before the thresholds (clamped to 0…1).
        case score(Double)

        public var description: String {
            switch self {
            case .decline: "decline"
            case .review: "review"
            case .approve: "approve"
            case .score(let delta): "score \(delta < 0 ? "-" : "+")\(abs(delta))"
            }
        }
    }

    /// The rule as written.
    public let source: String
    /// What it does when it matches.
    public let outcome: Outcome
    /// The reason code it adds (`[a-z0-9_]`, at most 64 characters).
    public let reason: String
    private let condition: @Sendable (RuleInput) -> Bool

    public var description: String { source }

    /// Whether the rule matches `input`.
    public func matches(_ input: RuleInput) -> Bool { condition(input) }

    /// Parses, type-checks and compiles `source`: `<condition> => <outcome> reason <code>`. `features` names the
    /// feature set's features (numbers, after the built-in ones in the vector) the rule may read too.
    public static func parse(_ source: String, features: [String] = []) throws(RuleLanguage.Problem) -> Rule {
        var parser = RuleParser(tokens: try RuleLexer.tokens(source), customFeatures: features)
        let condition = try parser.expression(depth: 0)
        guard case .boolean(let test) = condition.value else {
            throw RuleLanguage.Problem(column: condition.column, message: "the condition is a \(condition.type.rawValue), not a boolean")
        }
        try parser.expect("=>", "'=>' and an outcome after the condition")
        let outcome = try parser.outcome()
        try parser.expectName("reason", "'reason <code>' after the outcome")
        let reason = try parser.reasonCode()
        guard case .end = parser.current.kind else {
            throw RuleLanguage.Problem(column: parser.current.column, message: "unexpected text after the reason code")
        }
        return Rule(source: source.trimmingCharacters(in: .whitespaces), outcome: outcome, reason: reason, condition: test)
    }
}

/// A typed, compiled expression.
struct CompiledExpression {
    enum Value {
        case number(@Sendable (RuleInput) -> Double)
        case text(@Sendable (RuleInput) -> String)
        case boolean(@Sendable (RuleInput) -> Bool)
    }
    var value: Value
    var column: Int
    /// The literal text, when the expression is one (for `in` lists).
    var literal: RuleToken.Kind?

    var type: RuleLanguage.ValueType {
        switch value {
        case .number: .number
        case .text: .text
        case .boolean: .boolean
        }
    }
}

/// Recursive descent over the tokens, compiling as it goes.
struct RuleParser {
    let tokens: [RuleToken]
    var position = 0
    /// The feature set's features, in vector order after ``FeatureSchema/names``.
    let customFeatures: [String]

    init(tokens: [RuleToken], customFeatures: [String] = []) {
        self.tokens = tokens
        self.customFeatures = customFeatures
    }

    var current: RuleToken { tokens[position] }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }
    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func expect(_ symbol: String, _ what: String) throws(RuleLanguage.Problem) {
        guard isSymbol(symbol) else { throw RuleLanguage.Problem(column: current.column, message: "expected \(what)") }
        advance()
    }

    mutating func expectName(_ name: String, _ what: String) throws(RuleLanguage.Problem) {
        guard isName(name) else { throw RuleLanguage.Problem(column: current.column, message: "expected \(what)") }
        advance()
    }

    static func problem(_ column: Int, _ message: String) -> RuleLanguage.Problem { RuleLanguage.Problem(column: column, message: message) }

    mutating func expression(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        guard depth < RuleLanguage.maximumDepth else {
            throw Self.problem(current.column, "nested deeper than \(RuleLanguage.maximumDepth) levels")
        }
        return try or(depth: depth + 1)
    }

    private mutating func boolean(_ expression: CompiledExpression, _ operation: String) throws(RuleLanguage.Problem) -> @Sendable (RuleInput) -> Bool {
        guard case .boolean(let test) = expression.value else {
            throw Self.problem(expression.column, "'\(operation)' needs booleans, not a \(expression.type.rawValue)")
        }
        return test
    }

    private mutating func or(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        var left = try and(depth: depth)
        while isName("or") {
            advance()
            let right = try and(depth: depth)
            let (a, b) = (try boolean(left, "or"), try boolean(right, "or"))
            left = CompiledExpression(value: .boolean { a($0) || b($0) }, column: left.column)
        }
        return left
    }

    private mutating func and(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        var left = try not(depth: depth)
        while isName("and") {
            advance()
            let right = try not(depth: depth)
            let (a, b) = (try boolean(left, "and"), try boolean(right, "and"))
            left = CompiledExpression(value: .boolean { a($0) && b($0) }, column: left.column)
        }
        return left
    }

    private mutating func not(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        if isName("not") {
            let column = current.column
            advance()
            guard depth < RuleLanguage.maximumDepth else { throw Self.problem(column, "nested deeper than \(RuleLanguage.maximumDepth) levels") }
            let operand = try not(depth: depth + 1)
            let test = try boolean(operand, "not")
            return CompiledExpression(value: .boolean { !test($0) }, column: column)
        }
        return try comparison(depth: depth)
    }

    private mutating func comparison(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        let left = try sum(depth: depth)
        if isName("in") || (isName("not") && tokens[min(position + 1, tokens.count - 1)].kind == .name("in")) {
            let negated = isName("not")
            if negated { advance() }
            advance()
            return try membership(left, negated: negated)
        }
        if isSymbol("=") { throw Self.problem(current.column, "'=' is not a comparison here: use '=='") }
        guard case .symbol(let symbol) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(symbol) else { return left }
        let column = current.column
        advance()
        let right = try sum(depth: depth)
        switch (left.value, right.value) {
        case (.number(let a), .number(let b)):
            let test: @Sendable (RuleInput) -> Bool
            switch symbol {
            case "==": test = { a($0) == b($0) }
            case "!=": test = { a($0) != b($0) }
            case "<": test = { a($0) < b($0) }
            case "<=": test = { a($0) <= b($0) }
            case ">": test = { a($0) > b($0) }
            default: test = { a($0) >= b($0) }
            }
            return CompiledExpression(value: .boolean(test), column: left.column)
        case (.text(let a), .text(let b)) where symbol == "==" || symbol == "!=":
            let equal = symbol == "=="
            return CompiledExpression(value: .boolean { (a($0) == b($0)) == equal }, column: left.column)
        case (.boolean(let a), .boolean(let b)) where symbol == "==" || symbol == "!=":
            let equal = symbol == "=="
            return CompiledExpression(value: .boolean { (a($0) == b($0)) == equal }, column: left.column)
        case (.boolean(let a), .number) where (symbol == "==" || symbol == "!=") && [.number(0), .number(1)].contains(right.literal):
            // An indicator against 0 or 1, as the features are written in the vector (`new_device == 1`).
            let expected = (right.literal == .number(1)) == (symbol == "==")
            return CompiledExpression(value: .boolean { a($0) == expected }, column: left.column)
        default:
            throw Self.problem(column, "cannot compare a \(left.type.rawValue) with a \(right.type.rawValue) using '\(symbol)'")
        }
    }

    private mutating func membership(_ left: CompiledExpression, negated: Bool) throws(RuleLanguage.Problem) -> CompiledExpression {
        let open = current.column
        try expect("[", "'[' to start the list after 'in'")
        var numbers: Set<Double> = []
        var texts: Set<String> = []
        var count = 0
        while !isSymbol("]") {
            if count > 0 { try expect(",", "',' or ']' in the list") }
            let item = current
            switch (item.kind, left.type) {
            case (.number(let value), .number): numbers.insert(value)
            case (.text(let value), .text): texts.insert(value)
            case (.symbol("-"), .number):
                advance()
                guard case .number(let value) = current.kind else { throw Self.problem(current.column, "expected a number after '-'") }
                numbers.insert(-value)
            default:
                throw Self.problem(item.column, "list items must be \(left.type == .text ? "\"strings\"" : "numbers") like the left side")
            }
            advance()
            count += 1
            guard count <= RuleLanguage.maximumListItems else {
                throw Self.problem(item.column, "lists hold at most \(RuleLanguage.maximumListItems) items")
            }
            if case .end = current.kind { throw Self.problem(open, "list not closed with ']'") }
        }
        advance()
        switch left.value {
        case .number(let value):
            let set = numbers
            return CompiledExpression(value: .boolean { set.contains(value($0)) != negated }, column: left.column)
        case .text(let value):
            let set = texts
            return CompiledExpression(value: .boolean { set.contains(value($0)) != negated }, column: left.column)
        case .boolean:
            throw Self.problem(left.column, "'in' needs a number or a text on its left, not a boolean")
        }
    }

    private mutating func arithmetic(
        _ left: CompiledExpression, _ right: CompiledExpression, _ symbol: String, column: Int
    ) throws(RuleLanguage.Problem) -> CompiledExpression {
        guard case .number(let a) = left.value, case .number(let b) = right.value else {
            throw Self.problem(column, "'\(symbol)' needs numbers, not a \(left.type == .number ? right.type.rawValue : left.type.rawValue)")
        }
        let value: @Sendable (RuleInput) -> Double
        switch symbol {
        case "+": value = { a($0) + b($0) }
        case "-": value = { a($0) - b($0) }
        case "*": value = { a($0) * b($0) }
        default: value = { let divisor = b($0); return divisor == 0 ? 0 : a($0) / divisor }
        }
        return CompiledExpression(value: .number(value), column: left.column)
    }

    private mutating func sum(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        var left = try product(depth: depth)
        while case .symbol(let symbol) = current.kind, symbol == "+" || symbol == "-" {
            let column = current.column
            advance()
            left = try arithmetic(left, try product(depth: depth), symbol, column: column)
        }
        return left
    }

    private mutating func product(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        var left = try unary(depth: depth)
        while case .symbol(let symbol) = current.kind, symbol == "*" || symbol == "/" {
            let column = current.column
            advance()
            left = try arithmetic(left, try unary(depth: depth), symbol, column: column)
        }
        return left
    }

    private mutating func unary(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        if isSymbol("-") {
            let column = current.column
            advance()
            guard depth < RuleLanguage.maximumDepth else { throw Self.problem(column, "nested deeper than \(RuleLanguage.maximumDepth) levels") }
            let operand = try unary(depth: depth + 1)
            guard case .number(let value) = operand.value else { throw Self.problem(column, "'-' needs a number, not a \(operand.type.rawValue)") }
            return CompiledExpression(value: .number { -value($0) }, column: column)
        }
        return try primary(depth: depth)
    }

    private mutating func primary(depth: Int) throws(RuleLanguage.Problem) -> CompiledExpression {
        let token = current
        switch token.kind {
        case .number(let value):
            advance()
            return CompiledExpression(value: .number { _ in value }, column: token.column, literal: token.kind)
        case .text(let value):
            advance()
            return CompiledExpression(value: .text { _ in value }, column: token.column, literal: token.kind)
        case .name("true"), .name("false"):
            advance()
            let value = token.kind == .name("true")
            return CompiledExpression(value: .boolean { _ in value }, column: token.column)
        case .name(let name):
            if RuleLanguage.type(of: name) == nil, let position = customFeatures.firstIndex(of: name) {
                advance()
                let index = FeatureSchema.count + position
                return CompiledExpression(value: .number { index < $0.features.count ? $0.features[index] : 0 }, column: token.column)
            }
            guard let type = RuleLanguage.type(of: name) else {
                throw Self.problem(token.column, "unknown name '\(name)' (features: \((FeatureSchema.names + customFeatures).joined(separator: ", ")); "
                    + "fields: \(RuleLanguage.textFields.joined(separator: ", ")); score)")
            }
            advance()
            switch type {
            case .number:
                if name == "score" { return CompiledExpression(value: .number { $0.score }, column: token.column) }
                let index = FeatureSchema.names.firstIndex(of: name) ?? 0
                return CompiledExpression(value: .number { $0.features[index] }, column: token.column)
            case .boolean:
                let index = FeatureSchema.names.firstIndex(of: name) ?? 0
                return CompiledExpression(value: .boolean { $0.features[index] != 0 }, column: token.column)
            case .text:
                let field = RuleLanguage.textFields.firstIndex(of: name) ?? 0
                return CompiledExpression(value: .text { $0.text(field) }, column: token.column)
            }
        case .symbol("("):
            advance()
            let inner = try expression(depth: depth + 1)
            try expect(")", "')' to close the '(' at column \(token.column)")
            return inner
        case .end:
            throw Self.problem(token.column, "the rule ends where a value was expected")
        default:
            throw Self.problem(token.column, "expected a value, a name or '('")
        }
    }

    mutating func outcome() throws(RuleLanguage.Problem) -> Rule.Outcome {
        let token = current
        switch token.kind {
        case .name("decline"): advance(); return .decline
        case .name("review"): advance(); return .review
        case .name("approve"): advance(); return .approve
        case .name("score"):
            advance()
            guard case .symbol(let sign) = current.kind, sign == "+" || sign == "-" else {
                throw Self.problem(current.column, "expected '+x' or '-x' after 'score'")
            }
            advance()
            guard case .number(let value) = current.kind, value <= 1 else {
                throw Self.problem(current.column, "expected a number between 0 and 1 after 'score \(sign)'")
            }
            advance()
            return .score(sign == "-" ? -value : value)
        default:
            throw Self.problem(token.column, "expected an outcome: decline, review, approve or score +x")
        }
    }

    mutating func reasonCode() throws(RuleLanguage.Problem) -> String {
        guard case .name(let code) = current.kind, code.count <= 64,
              code.allSatisfy({ ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "_" })
        else {
            throw Self.problem(current.column, "expected a reason code of lower-case letters, digits and '_' (at most 64)")
        }
        advance()
        return code
    }
}
