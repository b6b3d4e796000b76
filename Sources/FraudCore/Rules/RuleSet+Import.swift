import Foundation

/// What `rules import FILE` stores: the built-in rules plus the file's, or, with `--replace`, the file's alone.
extension RuleSet {
    /// A rule file made ready to store.
    public struct Import: Sendable {
        /// The text to store.
        public var text: String
        /// It compiled.
        public var ruleSet: RuleSet
        /// Built-in rules kept (0 when replacing).
        public var builtInRules: Int
        /// The file's rules stored.
        public var fileRules: Int
        /// The file's rules that are built-in rules word for word, so not stored twice (commented out in `text`).
        public var alreadyBuiltIn: Int
    }

    /// The built-in rules (``defaultText``) followed by the rules of `fileText`, unless `replace`, then `fileText`
    /// alone. A file line that is a built-in rule word for word (a file edited from `rules show`) is kept as a
    /// comment, so no reason fires twice. Problems name the file's own lines.
    public static func importing(_ fileText: String, replace: Bool, features: [String] = []) throws(FileProblem) -> Import {
        let file = try RuleSet(parsing: fileText, features: features)
        if replace {
            return Import(text: fileText, ruleSet: file, builtInRules: 0, fileRules: file.rules.count, alreadyBuiltIn: 0)
        }
        let builtIn = Set(standard.rules.map(\.source))
        var lines: [String] = []
        var duplicates = 0
        var lastRuleLine = 0
        for (offset, line) in Self.lines(fileText).enumerated() {
            let code = Self.withoutComment(line).trimmingCharacters(in: .whitespaces)
            if !code.isEmpty { lastRuleLine = offset + 1 }
            if builtIn.contains(code) {
                duplicates += 1
                lines.append("# built in already: \(line)")
            } else {
                lines.append(String(line))
            }
        }
        let stored = file.rules.count - duplicates
        guard standard.rules.count + stored <= maximumRules else {
            throw FileProblem(
                line: lastRuleLine,
                problem: RuleLanguage.Problem(
                    column: 1, message: "with the \(standard.rules.count) built-in rules, more than \(maximumRules) rules (--replace stores the file alone)"))
        }
        let text = defaultText + "# imported rules\n" + lines.joined(separator: "\n") + (fileText.hasSuffix("\n") || fileText.isEmpty ? "" : "\n")
        return Import(
            text: text, ruleSet: try RuleSet(parsing: text, features: features), builtInRules: standard.rules.count, fileRules: stored, alreadyBuiltIn: duplicates)
    }
}
