import Foundation

/// Samples of a Prometheus text exposition (`name{label="value",…} number`), for tests.
struct PrometheusText {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double

        /// `name{a="1",b="2"}` with labels sorted: the series' identity.
        var series: String {
            name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
        }
    }

    let samples: [Sample]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line -> Sample? in
            if line.hasPrefix("#") || line.isEmpty { return nil }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let head = line[..<space]
            guard let brace = head.firstIndex(of: "{") else { return Sample(name: String(head), labels: [:], value: value) }
            var labels: [String: String] = [:]
            let body = head[head.index(after: brace)..<(head.lastIndex(of: "}") ?? head.endIndex)]
            // Label values here never hold `",` (they are codes and patterns), so a plain split is enough.
            for pair in body.components(separatedBy: "\",") where !pair.isEmpty {
                guard let equals = pair.firstIndex(of: "=") else { continue }
                labels[String(pair[..<equals])] = pair[pair.index(after: equals)...].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            return Sample(name: String(head[..<brace]), labels: labels, value: value)
        }
    }

    /// Sum of the samples named `name` whose labels include `matching`.
    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && matching.allSatisfy { key, value in sample.labels[key] == value } }
            .map(\.value).reduce(0, +)
    }

    /// The samples named `name`.
    func named(_ name: String) -> [Sample] { samples.filter { $0.name == name } }

    /// Every series' identity.
    var series: Set<String> { Set(samples.map(\.series)) }
}
