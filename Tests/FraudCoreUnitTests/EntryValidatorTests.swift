import Testing

@testable import FraudCore

@Suite("Entry validation: contract, deliveries and timestamp window (no server)")
struct EntryValidatorTests {
    static let now: Int64 = 1_795_526_997_000

    static func entry(timestamp: String, id: String = "1-0") -> DeliveredEntry {
        DeliveredEntry(id: id, fields: [
            ("transaction_id", "t-\(id)"), ("user_id", "u1"), ("amount", "10"), ("merchant_id", "m1"), ("timestamp", timestamp),
        ])
    }

    @Test func epochSecondsInTheMillisecondFieldAreDeadLetteredWithAHint() {
        let validator = EntryValidator(maxDeliveries: 5)
        let (items, dead) = validator.validate([Self.entry(timestamp: "1795526997")], nowMilliseconds: Self.now)
        #expect(items.isEmpty)
        #expect(dead.first?.reason == "timestamp 1795526997 is before 946684800000 ms (epoch seconds? the field is epoch milliseconds)")
    }

    @Test func timestampsFarInTheFutureAreDeadLetteredAndTheWindowIsConfigurable() {
        let strict = EntryValidator(maxDeliveries: 5, maxClockSkewMilliseconds: 86_400_000)
        let tomorrowAndABit = String(Self.now + 86_400_000 + 1)
        let (_, dead) = strict.validate([Self.entry(timestamp: tomorrowAndABit)], nowMilliseconds: Self.now)
        #expect(dead.first?.reason == "timestamp \(tomorrowAndABit) is more than 86400000 ms in the future")
        let lenient = EntryValidator(maxDeliveries: 5)
        #expect(lenient.validate([Self.entry(timestamp: tomorrowAndABit)], nowMilliseconds: Self.now).items.count == 1)
        let microseconds = String(Self.now * 1000)  // a thousand times too large
        #expect(lenient.validate([Self.entry(timestamp: microseconds)], nowMilliseconds: Self.now).deadLetters.count == 1)
    }

    @Test func plausibleMillisecondsAndReferenceJSONSecondsPass() {
        let validator = EntryValidator(maxDeliveries: 5)
        let json = #"{"transaction_id":"j","user_id":"u","amount":1,"merchant_id":"m","timestamp":1795526990}"#
        let entries = [Self.entry(timestamp: String(Self.now - 1_000)), DeliveredEntry(id: "2-0", fields: [("data", json)])]
        let (items, dead) = validator.validate(entries, nowMilliseconds: Self.now)
        #expect(dead.isEmpty)
        #expect(items.map(\.transaction.timestampMilliseconds) == [Self.now - 1_000, 1_795_526_990_000])
    }
}
