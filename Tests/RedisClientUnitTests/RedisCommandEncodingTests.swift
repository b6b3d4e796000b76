import Testing

@testable import RedisClient

@Suite("RedisCommand encoding in the Redis protocol")
struct RedisCommandEncodingTests {
    @Test func encodesArgumentsWithTheirLengthsBinarySafely() {
        var command = RedisCommand("SET", "key")
        command.append(bytes: [0, 13, 10, 255])
        command.append("")
        command.append(1234567890)
        var expectedBytes = Array("*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\n".utf8) + [0, 13, 10, 255]
        expectedBytes += Array("\r\n$0\r\n\r\n$10\r\n1234567890\r\n".utf8)
        #expect(command.respByteCount == expectedBytes.count)
        #expect(RedisCommand.encodeRESP([command]) == expectedBytes)
    }

    @Test func encodesAPipelineBackToBack() {
        let commands = [RedisCommand("PING"), RedisCommand("GET", String(repeating: "k", count: 12))]
        let text = String(decoding: RedisCommand.encodeRESP(commands), as: UTF8.self)
        #expect(text == "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$12\r\nkkkkkkkkkkkk\r\n")
    }

    @Test func countsDecimalDigits() {
        #expect([0, 9, 10, 99, 100, 123_456].map(RedisCommand.decimalDigits) == [1, 1, 2, 2, 3, 6])
    }
}
