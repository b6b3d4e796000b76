import Testing

@testable import FraudCore

@Suite("Run statistics report (no server)")
struct RunStatisticsReportTests {
    static func statistics(counters: [String: Int]) -> RunStatistics {
        var latency = StageHistograms()
        for stage in StageHistograms.stages {
            latency.record(stage, microseconds: 1_234, count: 9)
            latency.record(stage, microseconds: 123_456_789)  // a wide value must not shift the columns
        }
        return RunStatistics(runId: "r", counters: counters, workers: [:], latency: latency, meta: [:])
    }

    @Test func latencyColumnsLineUpUnderTheirHeaders() {
        let lines = Self.statistics(counters: ["processed": 10]).report.split(separator: "\n").map(String.init)
        let header = try! #require(lines.first { $0.hasPrefix("latency ms") })
        let rows = lines.filter { line in StageHistograms.stages.contains { line.hasPrefix($0 + " ") } }
        #expect(rows.count == StageHistograms.stages.count)
        for row in rows {
            #expect(row.count == header.count, "\(row) vs \(header)")
            // Each header word ends where its column's value ends.
            for word in ["count", "avg", "p50", "max"] {
                let end = header.range(of: word)!.upperBound
                let offset = header.distance(from: header.startIndex, to: end)
                let cell = row.index(row.startIndex, offsetBy: offset - 1)
                #expect(row[cell] != " ", "\(word) column of \(row)")
            }
        }
    }

    @Test func precisionWithoutPositivesIsNotApplicable() {
        let report = Self.statistics(counters: ["processed": 10, "labelled": 10, "tn": 10]).report
        #expect(report.contains("precision n/a, recall n/a"))
        let scored = Self.statistics(counters: ["processed": 10, "labelled": 10, "tp": 1, "fp": 1, "tn": 8]).report
        #expect(scored.contains("precision 0.5000, recall 1.0000"))
    }
}
