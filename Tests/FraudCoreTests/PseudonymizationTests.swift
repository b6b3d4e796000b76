import Foundation
import FraudServer
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// `--pseudonymize user_id,device_id,ip` with a key file: no raw identifier reaches any key name or stored value but
/// the producer's own input stream, through `prepare`, a worker (valid entries and dead letters), `blocklist` and the API.
@Suite("Pseudonymized identifiers against a real redis-server")
struct PseudonymizationTests {
    /// Every key but `excluded`, with its name and its values as text, read per type (not `DUMP`, which may compress).
    static func everything(_ redis: RedisConnection, excluding excluded: Set<String>) async throws -> [(key: String, text: String)] {
        var out: [(key: String, text: String)] = []
        for key in try await Keyspace(namespace: "").keys(matching: "*", on: redis) where !excluded.contains(key) {
            let type = try await redis.send(RedisCommand("TYPE", key)).string ?? ""
            let command: RedisCommand
            switch type {
            case "string": command = RedisCommand("GET", key)
            case "hash": command = RedisCommand("HGETALL", key)
            case "set": command = RedisCommand("SMEMBERS", key)
            case "zset": command = RedisCommand("ZRANGE", key, 0, -1, "WITHSCORES")
            case "list": command = RedisCommand("LRANGE", key, 0, -1)
            case "stream": command = RedisCommand("XRANGE", key, "-", "+")
            default: command = RedisCommand("TYPE", key)
            }
            out.append((key, "\(try await redis.send(command))"))
        }
        return out
    }

    static func keyFile() throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-id-\(UUID().uuidString).key")
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: file)
        return file
    }

    @Test func noRawIdentifierIsStoredByPrepareTheWorkerOrTheBlocklist() async throws {
        let key = try Self.keyFile()
        defer { try? FileManager.default.removeItem(at: key) }
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(server.configuration)
            let connection = ["--redis-url", "redis://127.0.0.1:\(server.port)"]
            let pseudonyms = ["--pseudonymize", "user_id,device_id,ip", "--id-key-file", key.path]
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "150", "--days", "2", "--trees", "10"] + connection + pseudonyms)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            let count = 400
            // The producer writes raw identifiers to its own input stream.
            let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "5000", "--run-id", "pseudo"] + connection)
            #expect(generate.status == 0, "\(generate.standardError)")
            // And one malformed entry, which becomes a dead letter.
            try await redis.send(RedisCommand(
                "XADD", "fraud:transactions", "*", "transaction_id", "bad-1", "user_id", "raw-user-deadletter", "amount", "-3",
                "merchant_id", "m1", "timestamp", "1790812800000", "device_id", "raw-device-deadletter", "ip", "192.0.2.213"))
            let entries = try await redis.send(RedisCommand("XRANGE", "fraud:transactions", "-", "+")).array ?? []
            var raw = Set<String>()
            for entry in entries {
                let fields = entry.array?.last?.array?.compactMap(\.string) ?? []
                for index in stride(from: 0, to: fields.count - 1, by: 2) where ["user_id", "device_id", "ip"].contains(fields[index]) {
                    raw.insert(fields[index + 1])
                }
            }
            #expect(raw.count > 100)

            try await ChildProcess.run(["worker", "--consumer-name", "pseudo-worker", "--block-ms", "100"] + connection + pseudonyms) { worker in
                try await waitUntil("every transaction has a result or a dead letter", timeout: .seconds(60)) {
                    let results = try await redis.send(RedisCommand("XLEN", "fraud:results")).int ?? 0
                    let dead = try await redis.send(RedisCommand("XLEN", "fraud:dead_letters")).int ?? 0
                    return results == count && dead == 1
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            // An operator's IP, through the same mapping: listed, and found again by its raw text.
            let add = try await FraudStreamBinary.run(["blocklist", "add", "198.51.100.99"] + connection + pseudonyms)
            #expect(add.status == 0, "\(add.standardError)")
            raw.insert("198.51.100.99")
            let check = try await FraudStreamBinary.run(["blocklist", "check", "198.51.100.99"] + connection + pseudonyms)
            #expect(check.status == 0 && check.standardOutput.contains("198.51.100.99 blocklisted"), "\(check.standardOutput)")
            // Without the key the raw text is not what is stored.
            #expect(try await FraudStreamBinary.run(["blocklist", "check", "198.51.100.99"] + connection).status == 1)

            // Training and a backtest on the world map it the same way (their scratch keys are deleted afterwards).
            for arguments in [["train", "--no-promote", "--trees", "10"], ["backtest"]] {
                let run = try await FraudStreamBinary.run(arguments + ["--users", "150", "--days", "2"] + connection + pseudonyms)
                #expect(run.status == 0, "\(arguments): \(run.standardError)")
            }
            let stored = try await Self.everything(redis, excluding: ["fraud:transactions"])
            #expect(stored.count > 100)
            var leaks: [String] = []
            for (name, text) in stored {
                for id in raw where name.contains(id) || text.contains("\"\(id)\"") || text.contains("(\(id))") || text.contains(id) {
                    leaks.append("\(name) holds \(id)")
                }
            }
            #expect(leaks.isEmpty, "\(leaks.prefix(10))")
            let doctor = try await FraudStreamBinary.run(["doctor"] + connection + pseudonyms)
            #expect(doctor.standardOutput.contains("on: HMAC-SHA-256 of device_id, ip, user_id"), "\(doctor.standardOutput)")
            // Bad settings: one line, exit 64, nothing started.
            for (arguments, expected) in [
                (["worker", "--pseudonymize", "user_id"], "PSEUDONYMIZE needs a key"),
                (["worker", "--pseudonymize", "amount", "--id-key-file", key.path], "PSEUDONYMIZE names amount"),
                (["serve", "--pseudonymize", "ip", "--id-key-file", "/nonexistent.key", "--port", "0"], "cannot read the pseudonymization key"),
            ] {
                let run = try await FraudStreamBinary.run(arguments + connection, environment: ["PSEUDONYMIZE": "", "FRAUD_ID_KEY_FILE": ""])
                #expect(run.status == 64 && run.standardError.split(separator: "\n").count == 1 && run.standardError.contains(expected),
                        "\(arguments): \(run.status) \(run.standardError)")
            }
            // The dead letter kept its other fields and says why.
            let dead = "\(try await redis.send(RedisCommand("XRANGE", "fraud:dead_letters", "-", "+")))"
            #expect(dead.contains("bad-1") && dead.contains("amount"), "\(dead)")
        }
    }

    @Test func theAPIStoresPseudonymsAndAKeyOfTheWrongSizeIsRefused() async throws {
        let keyBytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let pseudonymizer = try Pseudonymizer(fields: ["user_id", "device_id", "ip"], key: keyBytes)
        try await ScoringAPIHarness.with(configure: { $0.pseudonymizer = pseudonymizer }) { api in
            let client = try await api.connect()
            let body = """
                {"transaction_id": "api-pseudo-1", "user_id": "api-raw-user-77", "amount": 12.5, "merchant_id": "m1", \
                "device_id": "api-raw-device-77", "ip": "203.0.113.201"}
                """
            #expect(try await client.request(.POST, "/v1/score", json: body).status == 200)
            #expect(try await client.request(.PUT, "/v1/blocklist/ip/198.51.100.201").status == 200)
            let get = try ScoringAPIHarness.object(try await client.request(.GET, "/v1/blocklist/ip/198.51.100.201"))
            #expect(get["blocklisted"] as? Bool == true)
            await client.close()
            let stored = try await Self.everything(api.redis, excluding: [])
            let raw = ["api-raw-user-77", "api-raw-device-77", "203.0.113.201", "198.51.100.201"]
            let leaks = stored.flatMap { entry in raw.filter { entry.key.contains($0) || entry.text.contains($0) }.map { "\(entry.key) holds \($0)" } }
            #expect(leaks.isEmpty, "\(leaks)")
            // The pseudonym is there instead.
            let user = pseudonymizer.map("api-raw-user-77", field: "user_id")
            #expect(stored.contains { $0.key.contains(user) || $0.text.contains(user) })
        }
        #expect(throws: FraudError.self) { try Pseudonymizer(fields: ["user_id"], key: Array(repeating: 1, count: 16)) }
        // A contract field that is not an identifier is refused; a field outside the contract (which feature sets may
        // key state by) is accepted, and its value in a transaction's extra fields is replaced.
        #expect(throws: FraudError.self) { try Pseudonymizer(fields: ["amount"], key: keyBytes) }
        #expect(throws: FraudError.self) { try Pseudonymizer(fields: ["Card-Number"], key: keyBytes) }
        let cards = try Pseudonymizer(fields: ["card_number_hash"], key: keyBytes)
        var carded = Transaction(transactionId: "t", userId: "u", amount: 1, merchantId: "m", timestampMilliseconds: 1)
        carded.extra = ["card_number_hash": "4111111111111111", "email_hash": "e"]
        #expect(cards.apply(carded).extra == ["card_number_hash": cards.map("4111111111111111", field: "card_number_hash"), "email_hash": "e"])
        #expect(pseudonymizer.map("u1", field: "user_id") != pseudonymizer.map("u1", field: "device_id"))
        #expect(pseudonymizer.map("u1", field: "user_id") == (try Pseudonymizer(fields: ["user_id"], key: keyBytes)).map("u1", field: "user_id"))
    }
}
