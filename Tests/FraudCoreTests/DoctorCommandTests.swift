import Foundation
import RedisClient
import RedisHarness
import Testing

@Suite("fraudstream doctor command")
struct DoctorCommandTests {
    @Test func doctorAgainstUnreachableRedisPrintsOneLineAndFails() async throws {
        let outcome = try await FraudStreamBinary.run(["doctor"], environment: ["REDIS_URL": "redis://127.0.0.1:1"])
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("cannot connect to redis://127.0.0.1:1") == true)
        #expect(!outcome.standardError.contains("Fatal error"))
    }

    @Test func doctorAgainstRealServerExitsZeroWithAnOkVersionLine() async throws {
        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(["doctor", "--redis-url", "redis://127.0.0.1:\(server.port)"])
            #expect(outcome.status == 0)
            #expect(outcome.standardOutput.contains("version"))
            #expect(outcome.standardOutput.contains("7."))
            // The version line itself: severity ok, check `version`, and the server's own version.
            let info = try await RedisConnection.connect(server.configuration).send(RedisCommand("INFO", "server")).string ?? ""
            // Valkey names itself and its own version beside the redis_version it reports for compatibility.
            let valkey = RedisServer.Kind.selected == .valkey
            let field = valkey ? "valkey_version:" : "redis_version:"
            let version = try #require(info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(field) }?.dropFirst(field.count))
            let versionLines = outcome.standardOutput.split(separator: "\n").filter {
                $0.split(separator: " ").dropFirst().first == "version"
            }
            #expect(versionLines.count == 1)
            let line = try #require(versionLines.first)
            #expect(line.split(separator: " ").first == "ok")
            #expect(line.contains("\(valkey ? "Valkey" : "Redis") \(version): Functions and XAUTOCLAIM available; tested on"), "\(line)")
            #expect((Int(version.split(separator: ".").first ?? "") ?? 0) >= 7)
        }
    }
}
