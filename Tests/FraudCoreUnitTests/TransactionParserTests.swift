import Testing

@testable import FraudCore

@Suite("Input validation (data contract)")
struct TransactionParserTests {
    let valid: [(String, String)] = [
        ("transaction_id", "t1"), ("user_id", "u1"), ("amount", "12.50"), ("merchant_id", "m1"),
        ("timestamp", "1790812800123"), ("lat", "40.7"), ("lon", "-74.0"), ("is_fraud", "1"), ("extra", "kept"),
    ]

    func reject(_ fields: [(String, String)], invalid: Set<String> = []) -> TransactionParser.Rejection? {
        if case .failure(let rejection) = TransactionParser.parse(fields, invalidUTF8: invalid) { return rejection }
        return nil
    }

    @Test func parsesFlatEntryWithDefaultsAndIgnoresUnknownFields() throws {
        let transaction = try TransactionParser.parse(valid).get()
        #expect(transaction.transactionId == "t1")
        #expect(transaction.amount == 12.5)
        #expect(transaction.timestampMilliseconds == 1_790_812_800_123)
        #expect(transaction.currency == "USD")
        #expect(transaction.latitude == 40.7)
        #expect(transaction.isFraud == true)
    }

    @Test func deadLettersEntryWithoutAmount() {
        #expect(reject(valid.filter { $0.0 != "amount" })?.reason == "missing required field 'amount'")
    }

    @Test func rejectsBadAmountsTimestampsIdsLocationsAndLabels() {
        func with(_ name: String, _ value: String) -> [(String, String)] { valid.map { $0.0 == name ? (name, value) : $0 } }
        #expect(reject(with("amount", "-3"))?.code == "invalid_amount")
        #expect(reject(with("amount", "0"))?.code == "invalid_amount")
        #expect(reject(with("amount", "nan"))?.code == "invalid_amount")
        #expect(reject(with("amount", "inf"))?.code == "invalid_amount")
        #expect(reject(with("amount", "12,5"))?.code == "invalid_amount")
        #expect(reject(with("timestamp", "2026-10-01"))?.code == "invalid_timestamp")
        #expect(reject(with("timestamp", "1790812800.5"))?.code == "invalid_timestamp")
        #expect(reject(with("user_id", String(repeating: "x", count: 129)))?.code == "field_too_long")
        #expect(reject(with("is_fraud", "maybe"))?.code == "invalid_label")
        #expect(reject([])?.code == "empty_entry")
    }

    @Test func amountsHaveAnUpperBoundAndTheExtremesAreRefusedWithAReason() throws {
        func with(_ value: String) -> [(String, String)] { valid.map { $0.0 == "amount" ? ("amount", value) : $0 } }
        #expect(reject(with("1e308")) == .init(code: "amount_too_large", reason: "amount '1e308' is above the bound 1000000000 (MAX_AMOUNT)"))
        #expect(reject(with("1000000000000"))?.code == "amount_too_large")
        #expect(reject(with("NaN"))?.code == "invalid_amount")
        #expect(reject(with("-inf"))?.code == "invalid_amount")
        #expect(try TransactionParser.parse(with("1000000000")).get().amount == 1_000_000_000)
        // The bound is a setting.
        #expect(try TransactionParser.parse(with("5000"), maximumAmount: 10_000).get().amount == 5_000)
        #expect(throws: TransactionParser.Rejection.self) { try TransactionParser.parse(with("50000"), maximumAmount: 10_000).get() }
    }

    @Test func identifiersThatAreNotUTF8AreRefusedAndNeverMangledIntoACollision() {
        #expect(reject(valid, invalid: ["transaction_id"]) == .init(code: "invalid_utf8", reason: "field 'transaction_id' is not valid UTF-8"))
        #expect(reject(valid, invalid: ["user_id"])?.code == "invalid_utf8")
        #expect(reject(valid, invalid: ["merchant_id"])?.code == "invalid_utf8")
        // An optional field that is not UTF-8 is dropped, with its reason, and the transaction is still scored.
        let transaction = try? TransactionParser.parse(valid + [("device_id", "dev\u{FFFD}")], invalidUTF8: ["device_id"]).get()
        #expect(transaction?.deviceId == nil)
        #expect(transaction?.invalidFields == ["invalid_device"])
    }

    @Test func anInvalidOptionalFieldDropsItsFeaturesAndSaysSoInsteadOfCostingTheDecision() throws {
        func with(_ name: String, _ value: String) -> [(String, String)] { valid.map { $0.0 == name ? (name, value) : $0 } }
        for fields in [with("lat", "91"), with("lon", "181"), with("lat", "north"), valid.filter { $0.0 != "lon" }] {
            let transaction = try TransactionParser.parse(fields).get()
            #expect(transaction.latitude == nil && transaction.longitude == nil)
            #expect(transaction.invalidFields == ["invalid_location"])
        }
        // The reference pipeline's shape: a data field with a "lon,lat" location past 180.
        let reference = #"{"transaction_id":"r1","user_id":"u1","amount":12.5,"merchant_id":"m","timestamp":1790812800,"location":"181.2,40.1"}"#
        let parsed = try TransactionParser.parse([("data", reference)]).get()
        #expect(parsed.invalidFields == ["invalid_location"] && parsed.latitude == nil)
        let long = try TransactionParser.parse(valid + [("ip", String(repeating: "9", count: 129))]).get()
        #expect(long.ip == nil && long.invalidFields == ["invalid_ip"])
        // The reason joins the decision's reasons.
        let decision = FraudRules(threshold: 0.7, reviewThreshold: 0.3).decide(
            score: 0.1, features: Array(repeating: 0, count: FeatureSchema.count), modelVersion: 1, transaction: parsed)
        #expect(decision.reasons.split(separator: ",").contains("invalid_location"))
    }

    @Test func acceptsReferencePipelineJSONWithSecondsAndLocation() throws {
        let json = #"{"transaction_id":"t9","user_id":"u9","amount":42.1,"merchant_id":"m9","timestamp":1790812800,"location":"-74.0,40.7","is_fraud":false}"#
        let transaction = try TransactionParser.parse([("data", json)]).get()
        #expect(transaction.timestampMilliseconds == 1_790_812_800_000)
        #expect(transaction.longitude == -74.0)
        #expect(transaction.latitude == 40.7)
        #expect(transaction.amount == 42.1)
        #expect(transaction.isFraud == false)
        #expect(reject([("data", "{not json")])?.code == "invalid_json")
        #expect(reject([("data", #"{"transaction_id":"t"}"#)])?.code == "missing_field")
        // A contract field of the wrong JSON type is named, not read as 1 or as missing.
        let base = #""transaction_id":"t","user_id":"u","merchant_id":"m","timestamp":1790812800"#
        #expect(reject([("data", "{\(base),\"amount\":true}")]) == .init(code: "invalid_type", reason: "amount must be a number, not a boolean"))
        #expect(reject([("data", "{\(base),\"amount\":{\"v\":1}}")]) == .init(code: "invalid_type", reason: "amount must be a number, not an object"))
        #expect(reject([("data", "{\(base),\"amount\":5,\"ip\":[1]}")])?.code == "invalid_type")
        #expect(try TransactionParser.parse([("data", "{\(base),\"amount\":5,\"is_fraud\":true}")]).get().isFraud == true)
        #expect(try TransactionParser.parse([("data", "{\(base),\"amount\":5,\"extra\":{\"kept\":1}}")]).get().amount == 5)
    }

    @Test func acceptsRunIdsOfBoundedLengthAndCharacterSet() throws {
        for runId in ["run-20261123-101500-3fa9", "a", "A.b_c:d-9", String(repeating: "r", count: 64)] {
            let transaction = try TransactionParser.parse(valid + [("run_id", runId)]).get()
            #expect(transaction.runId == runId)
        }
        // An empty run_id is no run id.
        #expect(try TransactionParser.parse(valid + [("run_id", "")]).get().runId == nil)
    }

    @Test func deadLettersRunIdLongerThan64BytesOrWithOtherCharacters() {
        let long = reject(valid + [("run_id", String(repeating: "r", count: 65))])
        #expect(long?.code == "invalid_run_id")
        #expect(long?.reason == "run_id '\(String(repeating: "r", count: 40))' is longer than 64 bytes")
        for runId in ["has space", "slash/run", "star*", "brace{x}", "tab\t", "é", "run\n", "100%"] {
            let rejection = reject(valid + [("run_id", runId)])
            #expect(rejection?.code == "invalid_run_id", "\(runId)")
            #expect(rejection?.reason == "run_id '\(runId)' has characters outside A-Z a-z 0-9 . _ : -")
        }
        // The same rule for the reference pipeline's JSON form.
        let json = #"{"transaction_id":"t9","user_id":"u9","amount":42.1,"merchant_id":"m9","timestamp":1790812800,"run_id":"a b"}"#
        #expect(reject([("data", json)])?.code == "invalid_run_id")
        // Four-byte characters count by bytes: 16 of them are 64 bytes, but not in the character set.
        #expect(!TransactionParser.isValidRunId(String(repeating: "😀", count: 16)))
        #expect(TransactionParser.isValidRunId(String(repeating: "9", count: 64)))
        #expect(!TransactionParser.isValidRunId(""))
    }
}
