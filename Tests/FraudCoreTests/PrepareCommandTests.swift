import Foundation
import RedisHarness
import Testing

@Suite("fraudstream prepare")
struct PrepareCommandTests {
    /// A replay of several seconds reports progress while it runs (and through a pipe, not at exit).
    @Test func replayReportsProgressWhileItRuns() async throws {
        try await withRedisServer { server in
            try await ChildProcess.run(
                ["prepare", "--users", "1500", "--days", "8", "--trees", "3", "--redis-url", "redis://127.0.0.1:\(server.port)"]
            ) { prepare in
                try await waitUntil("a replay progress line", timeout: .seconds(60)) {
                    prepare.standardOutput.split(separator: "\n").contains { $0.hasPrefix("replay      ") && $0.contains(" / ") }
                }
                let termination = try await prepare.waitForExit(timeout: .seconds(120))
                #expect(termination == .exited(0), "stderr: \(prepare.standardError)")
                let lines = prepare.standardOutput.split(separator: "\n")
                let progress = lines.firstIndex { $0.hasPrefix("replay      ") && $0.contains(" / ") }
                let summary = lines.firstIndex { $0.hasPrefix("replay      ") && $0.contains("through the serving feature path") }
                #expect(progress != nil && summary != nil && progress! < summary!)
            }
        }
    }
}
