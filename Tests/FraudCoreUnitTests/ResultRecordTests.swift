import Testing

@testable import FraudCore

@Suite("Results-stream entries decoded")
struct ResultRecordTests {
    @Test func everyFieldHasItsOwnSlotInDeclarationOrder() {
        #expect(ResultRecord.Field.allCases.enumerated().allSatisfy { $0.element.slot == $0.offset })
    }

    @Test func theLastOfARepeatedNameCountsAndOtherFieldsAreCounted() throws {
        let fields = [
            ("transaction_id", "t1"), ("user_id", "u1"), ("score", "0.25"), ("decision", "approve"), ("model_version", "3"),
            ("score", "0.75"), ("note", "x"), ("note", "y"), ("amount", "12.5"),
        ]
        let record = try #require(ResultRecord(id: "1-0", fields: fields))
        #expect(record.score == 0.75 && record.amount == 12.5 && record.transactionId == "t1")
        #expect(record.otherFieldCount == 2)
        #expect(ResultRecord(id: "1-0", fields: [("transaction_id", "t1"), ("user_id", "u1"), ("decision", "approve")]) == nil)
    }
}
