import RedisClient
import Testing

@Suite("Redis commands (no server)")
struct RedisCommandTests {
    @Test func aTailWorkedOutOnceAppendsAsIfEachArgumentWere() {
        let tail = RedisCommand("", "count", Int64(600_000), 0, "sum", Int64(3_600_000), 1)
        var command = RedisCommand("FCALL", "f", 2, "{e}:a", "{e}:b")
        command.append(argumentsOf: tail)
        command.append("last")
        let direct = RedisCommand("FCALL", "f", 2, "{e}:a", "{e}:b", "count", Int64(600_000), 0, "sum", Int64(3_600_000), 1, "last")
        #expect(command.arguments == direct.arguments && command.count == 12)
        var unchanged = RedisCommand("GET", "k")
        unchanged.append(argumentsOf: RedisCommand(""))
        #expect(unchanged.arguments == RedisCommand("GET", "k").arguments)
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
