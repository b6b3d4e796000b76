import Testing

@testable import FraudServer

@Suite("FlatJSON: the API's JSON reader")
struct FlatJSONTests {
    func parse(_ text: String) throws -> FlatJSON.Value { try FlatJSON.parse(Array(text.utf8)) }

    func fields(_ text: String) throws -> [String: String?] {
        guard case .object(let members) = try parse(text) else { Issue.record("not an object"); return [:] }
        var result: [String: String?] = [:]
        for member in members { result[member.name] = member.value.fieldText }
        return result
    }

    @Test func readsScalarsAsStreamFieldText() throws {
        let fields = try fields(#"{"a": "x", "b": 42, "c": -1.50e+3, "d": true, "e": false, "f": null, "g": [1], "h": {"i": 1}}"#)
        #expect(fields["a"] == "x")
        #expect(fields["b"] == "42")
        #expect(fields["c"] == "-1.50e+3")
        #expect(fields["d"] == "1")
        #expect(fields["e"] == "0")
        #expect(fields["f"] == .some(nil))
        #expect(fields["g"] == .some(nil))
        #expect(fields["h"] == .some(nil))
    }

    @Test func decodesEveryEscape() throws {
        let fields = try fields(#"{"s": "q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00"}"#)
        #expect(fields["s"] == "q\" b\\ s/ \u{8}\u{C}\n\r\t é 😀")
    }

    @Test func rejectsMalformedDocumentsWithAnOffset() {
        for text in [#"{"a": }"#, #"{"a" 1}"#, #"{"a": 1,}"#, #"[1 2]"#, #"{"a": 01}"#, #"{"a": "x"} x"#, #"{"a": "\x"}"#,
            "{\"a\": \"\u{1}\"}", #"{"a": "\ud800"}"#, #"{"a": tru}"#, "", "{"]
        {
            #expect(throws: FlatJSON.SyntaxError.self, "\(text)") { try FlatJSON.parse(Array(text.utf8)) }
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes = Array(#"{"id": "tx"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: FlatJSON.SyntaxError.self) { try FlatJSON.parse(bytes) }
        let escaped = Array(#"{"id": "a\n"#.utf8) + [0xC3] + Array(#""}"#.utf8)
        #expect(throws: FlatJSON.SyntaxError.self) { try FlatJSON.parse(escaped) }
    }

    @Test func rejectsNestingPastTheLimit() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect(throws: FlatJSON.SyntaxError.self) { try FlatJSON.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(throws: Never.self) { try FlatJSON.parse(Array(fine.utf8)) }
    }
}
