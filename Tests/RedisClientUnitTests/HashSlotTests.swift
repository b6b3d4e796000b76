import Testing

@testable import RedisClient

@Suite("Redis Cluster key slots and command routing")
struct HashSlotTests {
    @Test func crc16AndSlotsMatchTheClusterSpecification() {
        // The specification's test vector, and slots Redis itself reports (CLUSTER KEYSLOT).
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.of("foo") == 12_182)
        #expect(HashSlot.of("bar") == 5_061)
        #expect(HashSlot.of("") == 0)
    }

    @Test func hashTagsFollowTheSpecificationsRules() {
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("{user1000}.followers"))
        #expect(HashSlot.of("{user1000}.following") == HashSlot.of("user1000"))
        // Empty braces hash the whole key; only the first {…} counts; the tag ends at the first } after {.
        #expect(HashSlot.of("foo{}{bar}") == Int(HashSlot.crc16(Array("foo{}{bar}".utf8))) % 16_384)
        #expect(HashSlot.of("foo{{bar}}zap") == HashSlot.of("{bar"))
        #expect(HashSlot.of("foo{bar}{zap}") == HashSlot.of("bar"))
        #expect(HashSlot.of("fraud:{u42}:window") == HashSlot.of("fraud:{u42}:profile"))
    }

    @Test func commandsRouteByTheirKeys() throws {
        #expect(try CommandKeys.route(RedisCommand("GET", "foo")) == .slot(12_182))
        #expect(try CommandKeys.route(RedisCommand("PING")) == .anyNode)
        #expect(try CommandKeys.route(RedisCommand("FUNCTION", "LOAD", "REPLACE", "code")) == .everyPrimary)
        #expect(try CommandKeys.route(RedisCommand("FUNCTION", "LIST")) == .anyNode)
        #expect(try CommandKeys.route(RedisCommand("FCALL", "f", 2, "a:{x}", "b:{x}", "arg")) == .slot(HashSlot.of("x")))
        #expect(try CommandKeys.route(RedisCommand("FCALL", "f", 0)) == .anyNode)
        #expect(
            try CommandKeys.route(RedisCommand("XREADGROUP", "GROUP", "g", "c", "COUNT", 10, "STREAMS", "s{p0}", ">"))
                == .slot(HashSlot.of("p0")))
        #expect(try CommandKeys.route(RedisCommand("XINFO", "GROUPS", "bar")) == .slot(5_061))
        #expect(try CommandKeys.route(RedisCommand("DEL", "a{t}", "b{t}")) == .slot(HashSlot.of("t")))
    }

    @Test func keysInDifferentSlotsAreAClearErrorBeforeSending() {
        #expect {
            try CommandKeys.route(RedisCommand("MGET", "foo", "bar"))
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .crossSlot && error.message.contains("slot 12182") && error.message.contains("slot 5061")
                && error.message.contains("hash tag")
        }
    }

    @Test func redirectsAreParsed() {
        let moved = Redirect("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.isAsk == false && moved?.slot == 3_999 && moved?.address.port == 6_381)
        let ask = Redirect("ASK 3999 10.0.0.2:7000")
        #expect(ask?.isAsk == true && ask?.address.host == "10.0.0.2")
        #expect(Redirect("ERR unknown command") == nil)
    }
}
