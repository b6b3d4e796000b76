import Testing

@testable import FraudCore

@Suite("Doctor's Redis version check (no server)")
struct RedisDoctorVersionTests {
    /// An `INFO server` reply as Redis sends it (CRLF lines, a section header).
    func info(version: String) -> String {
        "# Server\r\nredis_version:\(version)\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\nprocess_id:42\r\n"
    }

    @Test(arguments: ["2.8.24", "5.0.14", "6.0.0", "6.2.14"])
    func refusesRedisOlderThanSeven(version: String) {
        let finding = RedisDoctor.versionFinding(info: info(version: version))
        #expect(finding.severity == .fail)
        #expect(finding.check == "version")
        #expect(finding.detail == "Redis \(version) is too old: FraudStream needs Redis 7.0 or later for Functions and XAUTOCLAIM")
        #expect(!RedisDoctor.Report(findings: [finding]).isUsable)
    }

    @Test(arguments: ["7.0.0", "7.0.15", "7.2.4", "8.0.1", "10.1.0"])
    func acceptsRedisSevenAndLater(version: String) {
        let finding = RedisDoctor.versionFinding(info: info(version: version))
        #expect(finding.severity == .ok)
        #expect(finding.detail == "Redis \(version): Functions and XAUTOCLAIM available; tested on Redis 7.0 (make test)")
        #expect(RedisDoctor.Report(findings: [finding]).isUsable)
    }

    /// Valkey 8 reports `redis_version:7.2.4` for compatibility, and its own name and version beside it.
    @Test func namesValkeyAndItsOwnVersion() {
        let info = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.1.8\r\nvalkey_release_stage:ga\r\n"
        let finding = RedisDoctor.versionFinding(info: info)
        #expect(finding.severity == .ok)
        #expect(finding.detail == "Valkey 8.1.8: Functions and XAUTOCLAIM available; tested on Valkey 8.1 (make test-valkey)")
        let old = RedisDoctor.versionFinding(info: "# Server\r\nredis_version:7.0.0\r\nserver_name:valkey\r\nvalkey_version:7.0.1\r\n")
        #expect(old.severity == .fail && old.detail.hasPrefix("Valkey 7.0.1 is too old: FraudStream needs Valkey 7.2 or later"))
    }

    @Test func refusesAServerThatDoesNotSayItsVersion() {
        let finding = RedisDoctor.versionFinding(info: "# Server\r\nredis_mode:standalone\r\n")
        #expect(finding.severity == .fail)
        #expect(finding.detail.hasPrefix("Redis unknown is too old"))
    }
}
