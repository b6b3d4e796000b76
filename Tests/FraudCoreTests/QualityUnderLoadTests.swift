import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Model quality does not depend on how busy the machine is: the same seeded load test, once on an idle machine and
/// once with a busy loop on every core, sends the same transactions with the same event times and gets the same
/// precision and recall.
@Suite("Quality that does not depend on load")
struct QualityUnderLoadTests {
    /// The stated tolerance: precision and recall within 0.02 of each other. Both runs start from the same state on
    /// their own servers, so they come out identical unless the two runs fall on different UTC days (`day_of_week`).
    static let tolerance = 0.02

    struct Run {
        var statistics: [String: Any]
        /// Every transaction as (user, merchant, amount, label, scenario, event time − the run's start event time).
        var transactions: [String]
        var precision: Double { statistics["precision"] as? Double ?? -1 }
        var recall: Double { statistics["recall"] as? Double ?? -1 }
    }

    /// A fresh server, a small prepared world, and one seeded load test through the binary (worker processes included).
    static func loadTest() async throws -> Run {
        try await withRedisServer { server in
            let url = "redis://127.0.0.1:\(server.port)"
            let prepare = try await FraudStreamBinary.run(
                ["prepare", "--users", "300", "--days", "4", "--seed", "5", "--trees", "30", "--redis-url", url], timeout: .seconds(240))
            try #require(prepare.status == 0, "prepare failed: \(prepare.standardError)")
            let outcome = try await FraudStreamBinary.run(
                [
                    "load-test", "--count", "4000", "--tps", "800", "--fraud-ratio", "0.03", "--seed", "9", "--threads", "2",
                    "--batch-size", "32", "--run-id", "same", "--json", "--drain-timeout", "240", "--ready-timeout", "120", "--redis-url", url,
                ], timeout: .seconds(420))
            try #require(outcome.status == 0, "load-test failed: \(outcome.standardError)")
            let statistics = try #require(try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
            let redis = try await RedisConnection.connect(server.configuration)
            let meta = try await redis.send(RedisCommand("HGETALL", "fraud:stats:run:same:meta")).stringPairs ?? [:]
            let start = try #require(meta["start_event_ms"].flatMap { Int64($0) })
            let entries = try await redis.send(XRange(stream: "fraud:transactions"))
            let transactions = entries.map { entry -> String in
                let time = (entry.value(of: "timestamp").flatMap { Int64($0) } ?? 0) - start
                return [entry.value(of: "transaction_id"), entry.value(of: "user_id"), entry.value(of: "merchant_id"),
                        entry.value(of: "amount"), entry.value(of: "is_fraud"), entry.value(of: "fraud_scenario"), String(time)]
                    .map { $0 ?? "-" }.joined(separator: " ")
            }
            return Run(statistics: statistics, transactions: transactions.sorted())
        }
    }

    @Test func theSameSeededLoadTestGivesTheSameStreamAndQualityOnABusyMachine() async throws {
        let idle = try await Self.loadTest()
        let busy = try await CPUHog.whileRunning { try await Self.loadTest() }
        print("quality under load: idle precision \(idle.precision) recall \(idle.recall), "
            + "busy precision \(busy.precision) recall \(busy.recall)")
        #expect(idle.transactions.count == 4_000 && busy.transactions.count == 4_000)
        // Same transactions, labels and event times relative to the run's start (both lanes' rows, by id).
        #expect(idle.transactions == busy.transactions, "first difference: \(zip(idle.transactions, busy.transactions).first { $0 != $1 }.map { "\($0) vs \($1)" } ?? "in length")")
        #expect((idle.statistics["labelled"] as? Int) == 4_000)
        let fraud = idle.transactions.filter { $0.split(separator: " ")[4] == "1" }.count
        #expect(fraud > 60, "\(fraud) fraud rows")
        #expect(idle.recall > 0 && idle.precision > 0, "\(idle.statistics)")
        #expect(abs(idle.precision - busy.precision) <= Self.tolerance, "precision \(idle.precision) idle, \(busy.precision) busy")
        #expect(abs(idle.recall - busy.recall) <= Self.tolerance, "recall \(idle.recall) idle, \(busy.recall) busy")
    }
}
