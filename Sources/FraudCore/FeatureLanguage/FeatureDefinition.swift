import Foundation

/// A feature a fraud team defines as data (issue 25), one per line:
///
/// ```
/// ip_spend_10m = sum(amount) by ip over 10m
/// device_cards_1h = distinct(user_id) by device_id over 1h
/// bin_small_1d = count() by prefix(card_number_hash, 6) over 24h where amount < 2
/// merchant_new_device_share_1h = ratio(count() where new_device == 1, count()) by merchant_id over 1h
/// email_age_days = age() by email_hash
/// ```
///
/// `<name> = <aggregation> by <entity> [over <window>] [where <condition>]`. Aggregations: `count()`, `sum(f)`,
/// `avg(f)`, `min(f)`, `max(f)` over a number (`amount`, `lat`, `lon` or a built-in feature), `distinct(f)` over a text
/// field, `age()` (time since the entity was first seen) and `since_last()` (time since its previous transaction), and
/// `ratio(a, b)` of two counts or sums over the same entity and window, each with its own `where`. The entity is a
/// contract field or an extra field a producer sends (`email_hash`), or `prefix(field, n)`. Windows run from `1s` to
/// `30d` (units `s`, `m`, `h`, `d`); `age` and `since_last` take none, the others need one. A `where` condition is the rule
/// language's, over the transaction's fields and the built-in features (`=` reads as `==`), without `score`.
///
/// A definition is parsed and checked once, with errors naming the column, as rules are; ``EntityFeatures`` computes a
/// set of them in Redis, and ``FeatureSetStore`` versions them.
public struct FeatureDefinition: Sendable, CustomStringConvertible {
    /// The aggregation kinds.
    public enum Kind: String, Sendable, CaseIterable {
        case count, sum, avg, min, max, distinct, age, sinceLast = "since_last", ratio
    }

    /// One aggregated quantity: a kind, the field it reads (none for `count`, `age`, `since_last`) and its filter.
    public struct Measure: Sendable {
        public var kind: Kind
        public var field: String?
        /// The `where` condition's source, or nil.
        public var filter: String?
        let condition: (@Sendable (RuleInput) -> Bool)?
        /// The built-in features the field and the filter read.
        public var builtIns: Set<String> = []

        /// What the measure reads (its field and filter, not its kind or window) as a short stable id: an event's
        /// payload is keyed by it, so every measure reading the same value (`sum(amount)` over 10m and over 1h,
        /// `avg(amount)`) shares one stored value, and every feature set version reads the same stored values.
        public var valueId: String {
            let filterText = (filter ?? "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
            let read = kind == .distinct ? "text:\(field ?? "")" : (field ?? "")
            return String(StableHash.hash("\(read)|\(filterText)") & 0xFF_FFFF_FFFF, radix: 36)
        }

        /// Counts every event and stores nothing per event (`count()` without a filter).
        var countsEveryEvent: Bool { kind == .count && filter == nil }

        /// Reads a built-in feature that comes from Redis state (anything but the transaction's own amount, hour, day and
        /// category): such a measure can only be folded once the built-in features are back.
        public var readsState: Bool { !builtIns.isSubset(of: FeatureDefinition.transactionOnlyFeatures) }
    }

    /// The built-in features a transaction gives without any state.
    public static let transactionOnlyFeatures: Set<String> = ["amount", "log_amount", "hour_of_day", "day_of_week", "category_code"]

    /// What the state is kept per: a field, or its first `prefix` characters.
    public struct Entity: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var prefix: Int?
        public var description: String { prefix.map { "prefix(\(field), \($0))" } ?? field }
    }

    /// The feature's name (a new name: not a built-in feature, not a field).
    public var name: String
    /// The aggregation: one measure, or two for `ratio` (numerator, denominator).
    public var kind: Kind
    public var measures: [Measure]
    /// The entity.
    public var entity: Entity
    /// The window in milliseconds; nil for `age` and `since_last`.
    public var windowMilliseconds: Int64?
    /// The line as written (trimmed).
    public var source: String

    public var description: String { source }

    /// The shortest and longest windows.
    public static let minimumWindowMilliseconds: Int64 = 1_000
    public static let maximumWindowMilliseconds: Int64 = 30 * 86_400_000
    /// The longest prefix of an entity field.
    public static let maximumPrefix = 64

    /// The contract's text fields an entity or `distinct` may name (any other name is an extra field).
    public static let contractTextFields = ["user_id", "merchant_id", "device_id", "ip", "card_provider", "merchant_category"]
    /// The contract's numbers a sum, average, minimum or maximum may read besides the built-in features.
    public static let contractNumbers = ["amount", "lat", "lon"]
    /// Contract fields that are never an entity or a distinct value.
    static let reserved: Set<String> = ["transaction_id", "timestamp", "amount", "lat", "lon", "is_fraud", "run_id", "score"]

    /// Parses and checks one definition. `builtIn` lets the name be a built-in feature's (only
    /// ``BuiltInFeatures`` defines those).
    public static func parse(_ line: String, builtIn: Bool = false) throws(RuleLanguage.Problem) -> FeatureDefinition {
        var tokens = try RuleLexer.tokens(line)
        // `=` after the first one is equality, as in `where new_device = 1`.
        var seenAssignment = false
        for index in tokens.indices where tokens[index].kind == .symbol("=") {
            if seenAssignment { tokens[index].kind = .symbol("==") } else { seenAssignment = true }
        }
        var parser = FeatureParser(rules: RuleParser(tokens: tokens))
        parser.sourceLine = line
        parser.builtIn = builtIn
        let definition = try parser.definition(source: line.trimmingCharacters(in: .whitespaces))
        return definition
    }
}

/// A feature set: definitions with distinct names, at most ``maximumCount``.
public struct FeatureSet: Sendable {
    /// The most features a set may define.
    public static let maximumCount = 500
    public var definitions: [FeatureDefinition]

    /// The set with `definitions`.
    public init(definitions: [FeatureDefinition]) { self.definitions = definitions }

    /// The features' names, in vector order.
    public var names: [String] { definitions.map(\.name) }

    /// The set as a file: one definition per line, as written.
    public var text: String { definitions.map { $0.source + "\n" }.joined() }

    /// A line that does not parse, or a name defined twice: the 1-based line, then the column.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var problem: RuleLanguage.Problem
        public var description: String { "line \(line), \(problem)" }
    }

    /// Parses a file: one definition per line; blank lines and `#` comments are skipped.
    public static func parse(_ text: String) throws(Problem) -> FeatureSet {
        var definitions: [FeatureDefinition] = []
        var names: [String: Int] = [:]
        for (offset, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let definition: FeatureDefinition
            do {
                definition = try FeatureDefinition.parse(String(raw))
            } catch {
                throw Problem(line: offset + 1, problem: error)
            }
            if let first = names[definition.name] {
                throw Problem(line: offset + 1, problem: .init(column: 1, message: "'\(definition.name)' is already defined on line \(first)"))
            }
            names[definition.name] = offset + 1
            definitions.append(definition)
            guard definitions.count <= maximumCount else {
                throw Problem(line: offset + 1, problem: .init(column: 1, message: "more than \(maximumCount) features"))
            }
        }
        return FeatureSet(definitions: definitions)
    }
}

/// Recursive descent over the rule language's tokens for a definition; `where` conditions are the rule parser's.
struct FeatureParser {
    var rules: RuleParser

    var current: RuleToken { rules.current }

    func problem(_ message: String, at token: RuleToken? = nil) -> RuleLanguage.Problem {
        RuleLanguage.Problem(column: (token ?? current).column, message: message)
    }

    mutating func name(_ what: String) throws(RuleLanguage.Problem) -> (String, RuleToken) {
        guard case .name(let name) = current.kind else { throw problem("expected \(what)") }
        let token = current
        rules.advance()
        return (name, token)
    }

    mutating func definition(source: String) throws(RuleLanguage.Problem) -> FeatureDefinition {
        let (featureName, nameToken) = try name("the feature's name")
        if (FeatureSchema.names.contains(featureName) && !builtIn) || FeatureDefinition.reserved.contains(featureName)
            || FeatureDefinition.contractTextFields.contains(featureName) || ["by", "over", "where"].contains(featureName)
        {
            throw problem("'\(featureName)' is already a built-in feature or field name; choose another", at: nameToken)
        }
        guard featureName.utf8.count <= 64 else { throw problem("the name is longer than 64 bytes", at: nameToken) }
        try rules.expect("=", "'=' after the feature's name")
        let kindToken = current
        let (kind, measures) = try aggregation()
        try rules.expectName("by", "'by <entity>' after the aggregation")
        let entity = try self.entity()
        var window: Int64?
        if rules.isName("over") {
            rules.advance()
            window = try self.window()
        }
        // A `where` after the window filters every measure (one that has its own keeps both).
        var measuresWithFilter = measures
        if rules.isName("where") {
            let whereToken = current
            rules.advance()
            let (source, condition, names) = try self.condition(whereToken)
            for index in measuresWithFilter.indices {
                let inner = measuresWithFilter[index].condition
                measuresWithFilter[index] = FeatureDefinition.Measure(
                    kind: measuresWithFilter[index].kind, field: measuresWithFilter[index].field,
                    filter: [measuresWithFilter[index].filter, source].compactMap { $0 }.joined(separator: " and "),
                    condition: inner.map { inner in { @Sendable input in inner(input) && condition(input) } } ?? condition,
                    builtIns: measuresWithFilter[index].builtIns.union(names))
            }
        }
        guard case .end = current.kind else { throw problem("unexpected text after the definition") }
        switch kind {
        case .age, .sinceLast:
            guard window == nil else { throw problem("\(kind.rawValue)() takes no window", at: kindToken) }
        default:
            guard window != nil else { throw problem("\(kind.rawValue) needs a window: 'over 10m', 'over 1h', 'over 30d'", at: kindToken) }
        }
        return FeatureDefinition(
            name: featureName, kind: kind, measures: measuresWithFilter, entity: entity, windowMilliseconds: window, source: source)
    }

    /// `count()`, `sum(f)`, …, or `ratio(<measure> [where …], <measure> [where …])`.
    mutating func aggregation() throws(RuleLanguage.Problem) -> (FeatureDefinition.Kind, [FeatureDefinition.Measure]) {
        let token = current
        guard case .name("ratio") = current.kind else {
            let measure = try self.measure(allowFilter: false)
            return (measure.kind, [measure])
        }
        rules.advance()
        try rules.expect("(", "'(' after ratio")
        let numerator = try measure(allowFilter: true)
        try rules.expect(",", "',' between ratio's two measures")
        let denominator = try measure(allowFilter: true)
        try rules.expect(")", "')' to close ratio(")
        for part in [numerator, denominator] where ![.count, .sum].contains(part.kind) {
            throw problem("ratio divides counts or sums, not \(part.kind.rawValue)", at: token)
        }
        return (.ratio, [numerator, denominator])
    }

    mutating func measure(allowFilter: Bool) throws(RuleLanguage.Problem) -> FeatureDefinition.Measure {
        let (word, token) = try name("an aggregation: count(), sum(f), avg(f), min(f), max(f), distinct(f), age(), since_last() or ratio(a, b)")
        guard let kind = FeatureDefinition.Kind(rawValue: word), kind != .ratio else {
            throw problem("unknown aggregation '\(word)' (count, sum, avg, min, max, distinct, age, since_last, ratio)", at: token)
        }
        try rules.expect("(", "'(' after \(word)")
        var field: String?
        switch kind {
        case .count, .age, .sinceLast:
            break
        case .distinct:
            let (name, fieldToken) = try self.name("the field distinct counts")
            guard !FeatureDefinition.reserved.contains(name), !FeatureSchema.names.contains(name) else {
                throw problem("distinct counts a text field (\(FeatureDefinition.contractTextFields.joined(separator: ", ")) or an extra field), not '\(name)'", at: fieldToken)
            }
            field = name
        default:
            let (name, fieldToken) = try self.name("the number \(word) reads")
            guard FeatureDefinition.contractNumbers.contains(name) || (FeatureSchema.names.contains(name) && !RuleLanguage.booleanFeatures.contains(name)) else {
                throw problem("\(word) reads a number: amount, lat, lon or a built-in feature, not '\(name)'", at: fieldToken)
            }
            field = name
        }
        try rules.expect(")", "')' to close \(word)(")
        var filter: String?
        var condition: (@Sendable (RuleInput) -> Bool)?
        var names: Set<String> = []
        if allowFilter, rules.isName("where") {
            let whereToken = current
            rules.advance()
            (filter, condition, names) = try self.condition(whereToken, stopAt: [",", ")"])
        }
        if let field, FeatureSchema.names.contains(field) { names.insert(field) }
        return FeatureDefinition.Measure(kind: kind, field: field, filter: filter, condition: condition, builtIns: names)
    }

    mutating func entity() throws(RuleLanguage.Problem) -> FeatureDefinition.Entity {
        if rules.isName("prefix") {
            let token = current
            rules.advance()
            try rules.expect("(", "'(' after prefix")
            let field = try entityField()
            try rules.expect(",", "',' and a length after the field")
            guard case .number(let length) = current.kind, length >= 1, length <= Double(FeatureDefinition.maximumPrefix), length == length.rounded() else {
                throw problem("the prefix length is a whole number from 1 to \(FeatureDefinition.maximumPrefix)")
            }
            rules.advance()
            try rules.expect(")", "')' to close prefix(")
            _ = token
            return FeatureDefinition.Entity(field: field, prefix: Int(length))
        }
        return FeatureDefinition.Entity(field: try entityField(), prefix: nil)
    }

    mutating func entityField() throws(RuleLanguage.Problem) -> String {
        let (field, token) = try name("the entity: a field such as ip, device_id, merchant_id, or an extra field")
        guard !FeatureDefinition.reserved.contains(field), !FeatureSchema.names.contains(field), !["over", "where"].contains(field) else {
            throw problem("'\(field)' cannot be an entity: use a text field (\(FeatureDefinition.contractTextFields.joined(separator: ", "))) or an extra field", at: token)
        }
        return field
    }

    /// `30s`, `10m`, `1h`, `24h`, `30d`: the lexer reads a number, then a name `s`, `m`, `h` or `d` (or one token such
    /// as `h` after a number with no space, which it reads the same way).
    mutating func window() throws(RuleLanguage.Problem) -> Int64 {
        let token = current
        guard case .number(let count) = current.kind, count >= 1, count == count.rounded() else {
            throw problem("expected a window such as 30s, 10m, 1h, 24h or 30d")
        }
        rules.advance()
        let (unit, unitToken) = try name("a unit after the window's number: s, m, h or d")
        let milliseconds: Double
        switch unit {
        case "s": milliseconds = 1_000
        case "m": milliseconds = 60_000
        case "h": milliseconds = 3_600_000
        case "d": milliseconds = 86_400_000
        default: throw problem("the window's unit is s, m, h or d, not '\(unit)'", at: unitToken)
        }
        let window = count * milliseconds
        guard window >= Double(FeatureDefinition.minimumWindowMilliseconds), window <= Double(FeatureDefinition.maximumWindowMilliseconds) else {
            throw problem("windows run from 1s to 30d", at: token)
        }
        return Int64(window)
    }

    /// A `where` condition, up to the end (or to one of `stopAt` at the outer level): the rule language's, with its
    /// source text.
    mutating func condition(_ whereToken: RuleToken, stopAt: Set<String> = []) throws(RuleLanguage.Problem) -> (String, @Sendable (RuleInput) -> Bool, Set<String>) {
        let start = current
        // The condition must not read the model's score: features are computed before scoring.
        var depth = 0
        var names: Set<String> = []
        var index = rules.position
        while index < rules.tokens.count {
            let token = rules.tokens[index]
            if token.kind == .end { break }
            if token.kind == .symbol("(") { depth += 1 }
            if token.kind == .symbol(")") {
                if depth == 0, stopAt.contains(")") { break }
                depth -= 1
            }
            if depth == 0, case .symbol(let symbol) = token.kind, stopAt.contains(symbol) { break }
            if token.kind == .name("score") { throw problem("a feature's condition cannot read score: features are computed before the model", at: token) }
            if case .name(let name) = token.kind, FeatureSchema.names.contains(name) { names.insert(name) }
            index += 1
        }
        let expression = try rules.expression(depth: 0)
        guard case .boolean(let test) = expression.value else {
            throw problem("the condition after 'where' is a \(expression.type.rawValue), not a boolean", at: whereToken)
        }
        let endColumn = current.column
        let characters = Array(sourceLine)
        let from = max(0, start.column - 1)
        let to = min(characters.count, max(from, endColumn - 1))
        return (String(characters[from..<to]).trimmingCharacters(in: .whitespaces), test, names)
    }

    /// The line's text, rebuilt from the lexer's columns (set by ``FeatureDefinition/parse(_:builtIn:)``).
    var sourceLine: String = ""
    /// Whether built-in features' names may be defined.
    var builtIn = false
}
