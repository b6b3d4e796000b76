import RedisClient
import Testing

@Suite("RESP values and commands (no server)")
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

    @Test func commandKeepsArgumentsBinarySafe() {
        var command = RedisCommand("SET", "key", 12)
        command.append(bytes: [0, 255, 0])
        #expect(command.count == 4)
        #expect(command.name == "SET")
        #expect(command.arguments == [Array("SET".utf8), Array("key".utf8), Array("12".utf8), [0, 255, 0]])
    }

    @Test func integersMarkersAndPrefixesAreWrittenWithoutStrings() {
        var command = RedisCommand("X", 0, -7, Int64.max, Int64.min, 1_790_812_800_000)
        command.append(marker: "(", 1_790_812_740_000)
        command.append(marker: "#", 0)
        command.append(prefix: Array("ns:{u1}:".utf8), "window")
        #expect(command.arguments.map { String(decoding: $0, as: UTF8.self) } == [
            "X", "0", "-7", "9223372036854775807", "-9223372036854775808", "1790812800000", "(1790812740000", "#0", "ns:{u1}:window",
        ])
    }

    @Test func fcallCommandCountsKeys() {
        let command = RedisCommand.fcall("score", keys: ["a", "b"], arguments: ["x", 1])
        #expect(command.arguments.map { String(decoding: $0, as: UTF8.self) } == ["FCALL", "score", "2", "a", "b", "x", "1"])
    }
}
