/// An ordered set of compiled rules, read from a rule file: one rule per line, `#` starts a comment, blank
/// lines are ignored. Reasons are reported in rule order.
public struct RuleSet: Sendable, Equatable {
    /// The most rules a set may hold.
    public static let maximumRules = 500

    /// The rules, in file order.
    public let rules: [Rule]
    /// The file's text, as given (stored with the version in Redis).
    public let text: String
    /// The feature set's features the rules were compiled against (they read them by position in the vector).
    public let features: [String]

    /// A problem on one line of a rule file.
    public struct FileProblem: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based line.
        public var line: Int
        /// The problem within the line.
        public var problem: RuleLanguage.Problem
        public var description: String { "line \(line), \(problem)" }
    }

    /// Parses and compiles every rule of `text`, which may read `features` (the promoted feature set's names) besides
    /// the built-in ones; throws the first line's problem.
    public init(parsing text: String, features: [String] = []) throws(FileProblem) {
        var rules: [Rule] = []
        for (offset, line) in Self.lines(text).enumerated() {
            let code = Self.withoutComment(line)
            guard !code.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            do {
                rules.append(try Rule.parse(code, features: features))
            } catch {
                throw FileProblem(line: offset + 1, problem: error)
            }
            guard rules.count <= Self.maximumRules else {
                throw FileProblem(line: offset + 1, problem: RuleLanguage.Problem(column: 1, message: "more than \(Self.maximumRules) rules"))
            }
        }
        self.rules = rules
        self.text = text
        self.features = features
    }

    /// The same rules compiled against another feature set's names (they read custom features by position).
    public func compiled(for features: [String]) throws(FileProblem) -> RuleSet {
        features == self.features ? self : try RuleSet(parsing: text, features: features)
    }

    public static func == (lhs: RuleSet, rhs: RuleSet) -> Bool { lhs.text == rhs.text && lhs.features == rhs.features }

    /// The lines of a rule file, whatever its line endings (`\n`, `\r\n`, `\r`).
    public static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
    }

    /// A line without its comment: from the first `#` outside a "string" on.
    public static func withoutComment(_ line: Substring) -> String {
        var inString = false
        var end = line.endIndex
        for index in line.indices {
            if line[index] == "\"" { inString.toggle() }
            if line[index] == "#" && !inString {
                end = index
                break
            }
        }
        return String(line[..<end])
    }

    /// The rules FraudStream shipped as code before rules were data, as a rule file: same reasons, same order,
    /// same effect (the three that made an approve a review are `review` rules; the rest only add their reason).
    public static let defaultText = """
        # FraudStream's default rules: the reasons every decision has carried since the first contract version.
        # `score +0` adds the reason without moving the score; `review` makes an approve a review.
        unknown_user => score +0 reason new_user
        ip_blocklisted => review reason ip_blocklist
        click_spam => review reason click_spam
        tx_count_1m >= 5 => score +0 reason velocity_1m
        tx_count_1h >= 20 => score +0 reason velocity_1h
        tx_count_1m >= 3 and amount < 5 => score +0 reason card_testing
        travel_speed_kmh > 900 => review reason impossible_travel
        user_tx_count >= 3 and amount_to_mean_ratio >= 5 => score +0 reason amount_spike
        new_device and user_tx_count > 0 => score +0 reason new_device
        distance_from_home_km > 1000 => score +0 reason far_from_home
        distinct_merchants_1h >= 5 => score +0 reason many_merchants_1h

        """

    /// ``defaultText`` compiled.
    public static let standard: RuleSet = {
        do {
            return try RuleSet(parsing: defaultText)
        } catch {
            fatalError("the default rule set does not compile: \(error)")
        }
    }()

    /// What the rules say about one transaction.
    public struct Verdict: Sendable, Equatable {
        /// Reason codes of the matching rules, in rule order.
        public var reasons: [String] = []
        /// Sum of the matching `score` rules.
        public var scoreDelta = 0.0
        /// A `decline` rule matched.
        public var decline = false
        /// A `review` rule matched.
        public var review = false
        /// An `approve` rule matched.
        public var approve = false
    }

    /// Evaluates every rule against `input`.
    public func evaluate(_ input: RuleInput) -> Verdict {
        var verdict = Verdict()
        for rule in rules where rule.matches(input) {
            verdict.reasons.append(rule.reason)
            switch rule.outcome {
            case .decline: verdict.decline = true
            case .review: verdict.review = true
            case .approve: verdict.approve = true
            case .score(let delta): verdict.scoreDelta += delta
            }
        }
        return verdict
    }
}
