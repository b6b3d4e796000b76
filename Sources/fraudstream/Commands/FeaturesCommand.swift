import ArgumentParser
import FraudCore
import Foundation

/// `fraudstream features validate FILE`: checks feature definitions written in the feature language.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Feature definitions fraud teams write themselves (the language; storing and computing them is not built yet).",
        subcommands: [Validate.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a file of feature definitions, one per line: '<name> = <aggregation> by <entity> [over <window>] [where <condition>]'.",
            discussion: """
                Aggregations: count(), sum(f), avg(f), min(f), max(f) (f: amount, lat, lon or a built-in feature), \
                distinct(f) (a text field), age(), since_last(), ratio(a [where …], b [where …]) of two counts or sums. \
                Entities: a contract text field (user_id, merchant_id, device_id, ip, card_provider, merchant_category), \
                an extra field the producer sends, or prefix(field, n). Windows: 1m to 30d (m, h, d); age and since_last \
                take none. Conditions are the rule language's, without score. Blank lines and # comments are skipped. \
                Prints one line per definition; an error names the line and column and exits 65.
                """
        )
        @Argument(help: "The definitions file.") var file: String

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw FraudError(.invalidSetting, "cannot read \(file)") }
            let set: FeatureSet
            do {
                set = try FeatureSet.parse(String(decoding: data, as: UTF8.self))
            } catch {
                throw FraudError(.invalidData, "\(file): \(error)")
            }
            for definition in set.definitions {
                let measures = definition.measures.map { measure in
                    "\(measure.kind.rawValue)(\(measure.field ?? ""))" + (measure.filter.map { " where \($0)" } ?? "")
                }.joined(separator: " / ")
                let window = definition.windowMilliseconds.map { " over \(Self.window($0))" } ?? ""
                print("\(definition.name): \(measures) by \(definition.entity)\(window)")
            }
            print("\(set.definitions.count) feature definitions are valid")
        }

        static func window(_ milliseconds: Int64) -> String {
            if milliseconds % 86_400_000 == 0 { return "\(milliseconds / 86_400_000)d" }
            if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
            return "\(milliseconds / 60_000)m"
        }
    }
}
