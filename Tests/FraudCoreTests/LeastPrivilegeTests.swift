import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// The README's least-privilege ACL user (``RedisACL``) is enough to run FraudStream, and denies what it should.
@Suite("FraudStream as a least-privilege Redis ACL user against a real redis-server")
struct LeastPrivilegeTests {
    @Test func theProductRunsAsTheACLUserAndNothingIsDenied() async throws {
        try await withRedisServer { server in
            let admin = try await RedisConnection.connect(server.configuration)
            let rules = RedisACL.rules(namespace: "fraud")
            try await admin.send(RedisCommand("ACL", arguments: (["SETUSER", "fraudstream", "on", ">s3cret"] + rules).map { $0 as any RedisArgument }))
            try await admin.send(RedisCommand("ACL", "LOG", "RESET"))
            try await admin.send(RedisCommand("SET", "payroll:secret", "x"))
            let redisArguments = ["--redis-url", "redis://fraudstream:s3cret@127.0.0.1:\(server.port)"]

            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "200", "--days", "2", "--trees", "10"] + redisArguments)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            let count = 500
            let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "5000", "--run-id", "acl"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")
            try await ChildProcess.run(["worker", "--consumer-name", "acl-worker", "--block-ms", "100"] + redisArguments) { worker in
                try await waitUntil("every transaction has a result", timeout: .seconds(60)) {
                    try await admin.send(RedisCommand("XLEN", "fraud:results")).int == count
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            for arguments in [
                ["blocklist", "add", "198.51.100.9"], ["blocklist", "remove", "198.51.100.9"], ["apikeys", "create", "--name", "pay", "--scope", "score"],
                ["rules", "list"], ["audit", "list"], ["monitor", "--stats", "--run-id", "acl"],
            ] {
                let run = try await FraudStreamBinary.run(arguments + redisArguments)
                #expect(run.status == 0, "\(arguments): \(run.standardError)")
            }
            // serve too: a key created as the user, one request scored and recorded.
            let created = try await FraudStreamBinary.run(["apikeys", "create", "--name", "acl-serve", "--scope", "score"] + redisArguments)
            let key = try #require(created.standardOutput.split(separator: "\n").last.map(String.init))
            let answer = try await ChildProcess.scoreOnceThroughServe(redisArguments, key: key, transactionId: "acl-api-1")
            #expect(answer["degraded"] as? Bool != true, "\(answer)")
            try await waitUntil("the API decision is recorded", timeout: .seconds(60)) {
                try await admin.send(RedisCommand("XLEN", "fraud:results")).int == count + 1
            }
            let denied = try await admin.send(RedisCommand("ACL", "LOG"))
            #expect(denied.array?.isEmpty == true, "ACL LOG: \(denied)")
            // doctor runs too; it is refused CONFIG GET (which would show secrets) and says so, as a warning.
            let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
            #expect(doctor.status == 0, "\(doctor.standardError)")
            #expect(doctor.standardOutput.contains("authenticated as fraudstream"), "\(doctor.standardOutput)")
            #expect(doctor.standardOutput.contains("CONFIG GET is not allowed"), "\(doctor.standardOutput)")

            // What the user must not do: other keys, and dangerous commands.
            var userConfiguration = server.configuration
            userConfiguration.username = "fraudstream"
            userConfiguration.password = "s3cret"
            let user = try await RedisConnection.connect(userConfiguration)
            for command in [RedisCommand("GET", "payroll:secret"), RedisCommand("FLUSHALL"), RedisCommand("CONFIG", "SET", "appendonly", "no"),
                            RedisCommand("KEYS", "*"), RedisCommand("SAVE"), RedisCommand("SHUTDOWN")] {
                let reply = try await user.pipeline([command])[0]
                #expect(reply.errorMessage?.hasPrefix("NOPERM") == true, "\(command.name): \(reply)")
            }
            #expect(try await admin.send(RedisCommand("GET", "payroll:secret")).string == "x")
        }
    }

    @Test func theREADMEPrintsTheTestedRules() throws {
        let readme = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md"), encoding: .utf8)
        #expect(readme.contains(RedisACL.setUserCommand()))
    }
}
