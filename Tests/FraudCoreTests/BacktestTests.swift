import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

@Suite("fraudstream backtest against a real redis-server")
struct BacktestTests {
    @Test func figuresAreReproducibleForASeedAndFollowTheRules() async throws {
        try await withRedisServer { server in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let world = ["--users", "300", "--days", "6", "--seed", "5"]
            #expect(try await FraudStreamBinary.run(["prepare", "--trees", "20"] + world + redisArguments).status == 0)
            let first = try await FraudStreamBinary.run(["backtest", "--json"] + world + redisArguments)
            let second = try await FraudStreamBinary.run(["backtest", "--json"] + world + redisArguments)
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput == second.standardOutput)
            let builtIn = try #require(try JSONSerialization.jsonObject(with: Data(first.standardOutput.utf8)) as? [String: Any])
            #expect(builtIn["rules_version"] as? Int == 0 && (builtIn["fraud"] as? Int ?? 0) > 0)
            // A stored rule set that declines everything is backtested before anyone promotes it: recall 1.
            #expect(try await FraudStreamBinary.run(["rules", "add", "amount > 0 => decline reason everything", "--no-promote"] + redisArguments).status == 0)
            let all = try await FraudStreamBinary.run(["backtest", "--json", "--rules", "1"] + world + redisArguments)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(all.standardOutput.utf8)) as? [String: Any])
            #expect(object["rules_version"] as? Int == 1)
            #expect(object["recall"] as? Double == 1)
            #expect(object["declined"] as? Int == object["transactions"] as? Int)
            let everything = try #require((object["rules"] as? [String: Any])?["everything"] as? [String: Any])
            #expect(everything["hits"] as? Int == object["transactions"] as? Int)
            // Nothing promoted, scratch keys gone.
            let redis = try await RedisConnection.connect(server.configuration)
            #expect(try await RuleStore(namespace: "fraud").latestVersion(on: redis) == nil)
            #expect(try await Keyspace(namespace: "fraud").keys(matching: "fraud:backtest:*", on: redis).isEmpty)
        }
    }
}
