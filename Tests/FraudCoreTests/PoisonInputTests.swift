import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore
@testable import FraudServer

/// No input makes stored state non-finite or mangled, on either path, and an invalid optional field costs only its
/// features: against a real redis-server, a real worker and a real server.
@Suite("Inputs that cannot poison state, against a real redis-server")
struct PoisonInputTests {
    /// A valid transaction's fields with `overrides` applied.
    static func fields(_ id: String, user: String = "u3", _ overrides: [(String, String)] = []) -> [(String, String)] {
        var fields = WorkerHarness.fields(3).filter { $0.0 != "transaction_id" && $0.0 != "user_id" }
        fields = [("transaction_id", id), ("user_id", user)] + fields
        for (name, value) in overrides {
            fields.removeAll { $0.0 == name }
            fields.append((name, value))
        }
        return fields
    }

    /// XADD with one field's value given as raw bytes (not valid UTF-8).
    static func publishRaw(_ harness: WorkerHarness, _ fields: [(String, String)], rawField: String, rawValue: [UInt8]) async throws {
        var command = RedisCommand("XADD", "fraud:transactions", "*")
        for (name, value) in fields where name != rawField {
            command.append(name)
            command.append(value)
        }
        command.append(rawField)
        command.append(bytes: rawValue)
        _ = try await harness.redis.send(command)
    }

    @Test func theWorkerRefusesPoisonWithReasonsAndScoresABadLocationWithoutIt() async throws {
        try await WorkerHarness.with { harness in
            try await harness.publish([
                Self.fields("huge", [("amount", "1e308")]),
                Self.fields("trillion", [("amount", "1000000000000")]),
                Self.fields("nan", [("amount", "NaN")]),
                Self.fields("far", [("lon", "181.5")]),
                Self.fields("fine"),
            ])
            try await Self.publishRaw(harness, Self.fields("utf"), rawField: "transaction_id", rawValue: Array("utf-".utf8) + [0xFF])
            try await Self.publishRaw(harness, Self.fields("utf2"), rawField: "transaction_id", rawValue: Array("utf-".utf8) + [0xFE])
            try await Self.publishRaw(harness, Self.fields("usr"), rawField: "user_id", rawValue: Array("usr".utf8) + [0xFF])
            _ = try await harness.runWorker(harness.configuration()) {
                try await harness.length("fraud:results") + harness.length("fraud:dead_letters") >= 8
            }
            let dead = try await harness.entries("fraud:dead_letters")
            let kinds = dead.compactMap { $0["reason"] }
            #expect(dead.count == 6, "\(kinds)")
            #expect(kinds.filter { $0.contains("above the bound 1000000000") }.count == 2)
            #expect(kinds.filter { $0.contains("not a finite decimal") }.count == 1)
            #expect(kinds.filter { $0 == "field 'transaction_id' is not valid UTF-8" }.count == 2)
            #expect(kinds.contains("field 'user_id' is not valid UTF-8"))
            let results = try await harness.entries("fraud:results")
            #expect(Set(results.compactMap { $0["transaction_id"] }) == ["far", "fine"])
            let far = try #require(results.first { $0["transaction_id"] == "far" })
            #expect((far["reasons"] ?? "").split(separator: ",").contains("invalid_location"))
            // Nothing of the refused ones reached the user's state: no window member, no mangled user.
            let members = try await harness.redis.send(RedisCommand("ZRANGE", FeatureKeys(namespace: "fraud").window("u3"), 0, -1))
            let ids = Set((members.array ?? []).compactMap(\.string))
            #expect(ids.isDisjoint(with: ["huge", "trillion", "nan", "utf-\u{FFFD}"]))
            #expect(try await Keyspace(namespace: "fraud").keys(matching: "fraud:{usr*", on: harness.redis).isEmpty)
        }
    }

    @Test func theAPIRefusesTheSamePoisonWith422AndScoresABadLocationWithoutIt() async throws {
        try await ScoringAPIHarness.with { api in
            let client = try await api.connect()
            func post(_ body: String) async throws -> (Int, [String: Any]) {
                let reply = try await client.request(.POST, "/v1/score", json: body)
                return (reply.status, try ScoringAPIHarness.object(reply))
            }
            let huge = try await post(ScoringAPIHarness.transaction("huge", amount: 1e308))
            #expect(huge.0 == 422 && huge.1["error"] as? String == "amount_too_large")
            let trillion = try await post(ScoringAPIHarness.transaction("trillion", amount: 1e12))
            #expect(trillion.0 == 422 && trillion.1["error"] as? String == "amount_too_large")
            let nan = try await post(ScoringAPIHarness.transaction("nan").replacingOccurrences(of: "\"amount\": 42.5", with: "\"amount\": \"NaN\""))
            #expect(nan.0 == 422 && nan.1["error"] as? String == "invalid_amount")
            // Invalid UTF-8 in the body is malformed JSON: refused whole, never mangled.
            var bytes = Array(ScoringAPIHarness.transaction("utf-X").utf8)
            if let index = bytes.firstIndex(of: UInt8(ascii: "X")) { bytes[index] = 0xFF }
            let raw = try await client.request(.POST, "/v1/score", body: bytes)
            #expect(raw.status == 400)
            let far = try await post(ScoringAPIHarness.transaction("far", extra: "\"lon\": 181.5").replacingOccurrences(of: "\"lon\": -74.1, ", with: ""))
            #expect(far.0 == 200)
            #expect((far.1["reasons"] as? [String])?.contains("invalid_location") == true)
            await client.close()
        }
    }
}
