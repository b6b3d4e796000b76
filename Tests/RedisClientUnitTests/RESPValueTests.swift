import RedisClient
import Testing

@Suite("RESP values (no server)")
struct RESPValueTests {
    @Test func typedAccessorsReadEachReplyKind() throws {
        #expect(RESPValue.bulkString(Array("42".utf8)).int == 42)
        #expect(RESPValue.bulkString(Array("2.5".utf8)).double == 2.5)
        #expect(RESPValue.integer(7).string == "7")
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
        let pairs = RESPValue.array([.bulkString(Array("a".utf8)), .bulkString(Array("1".utf8))]).stringPairs
        #expect(pairs == ["a": "1"])
        #expect(RESPValue.array([.null]).stringPairs == nil)
    }

    @Test func errorReplyThrowsServerErrorFromGet() {
        #expect(throws: RedisError.self) { try RESPValue.error("WRONGTYPE Operation").get() }
        do {
            _ = try RESPValue.error("WRONGTYPE Operation").get()
        } catch {
            #expect(error.code == .serverError)
            #expect(error.serverErrorPrefix == "WRONGTYPE")
        }
        do {
            _ = try RESPValue.error("NOAUTH Authentication required.").get()
        } catch {
            #expect(error.code == .authenticationFailed)
        }
    }
}
