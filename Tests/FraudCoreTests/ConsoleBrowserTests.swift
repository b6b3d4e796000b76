import Foundation
import FraudCore
import RedisClient
import RedisHarness
import Testing

/// The analyst console in a real browser: headless Chromium driven by Selenium (`make test-browser` installs Debian's
/// chromium and chromium-driver and selenium into `.python/`), against a real redis-server with a prepared world and a
/// run with reviews. The script (Fixtures/browser/console_browser_test.py) works the queue with the keyboard, opens a
/// decision, changes the blocklist, tries a request without its CSRF token and a read key's changes, and takes the
/// screenshots README shows (Fixtures/docs/console-*.png); this test checks what it did in Redis.
@Suite("Analyst console in headless Chromium")
struct ConsoleBrowserTests {
    @Test func anAnalystWorksTheQueueWithTheKeyboardInABrowser() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "chromium-driver is missing: run make deps-browser")
        try await WorkerHarness.with { harness in
            try await ConsoleTests.decideRun(harness, count: 3_000, runId: "browser")
            let store = APIKeyStore(namespace: "fraud")
            let admin = try await store.create(name: "analyst", scopes: [.admin, .read], actor: "cli:test", on: harness.redis).secret
            let reader = try await store.create(name: "viewer", scopes: [.read], actor: "cli:test", on: harness.redis).secret
            let shots = PythonModels.root.appendingPathComponent("Fixtures/docs").path
            try await ConsoleTests.withConsole(harness) { console in
                let outcome = try await PythonModels.python(
                    [PythonModels.root.appendingPathComponent("Fixtures/browser/console_browser_test.py").path,
                     "http://127.0.0.1:\(console.port)", admin, reader, shots],
                    timeout: .seconds(600))
                #expect(outcome.status == 0, "\(outcome.standardError.suffix(3000))")
                let line = try #require(outcome.standardOutput.split(separator: "\n").last, "no report: \(outcome.standardError.suffix(2000))")
                let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])

                // Five labels, as the keyboard gave them, in Redis and in the audit log with the analyst's identity.
                let labelled = try #require(report["labelled"] as? [[String: String]])
                #expect(labelled.count == 5 && Set(labelled.compactMap { $0["transaction_id"] }).count == 5, "\(labelled)")
                for entry in labelled {
                    let stored = try await harness.redis.send(RedisCommand("HGET", "fraud:labels", entry["transaction_id"] ?? "")).string
                    #expect(stored == (entry["label"] == "fraud" ? "1" : "0"), "\(entry)")
                }
                let audit = try await AuditLog(namespace: "fraud").list(on: harness.redis).filter { $0.actor == "console:analyst" }
                #expect(audit.filter { $0.action == "review.resolve" }.count == 5)
                #expect((report["open_before"] as? Int).map { $0 - 5 } == report["open_after"] as? Int, "\(report)")
                // The explanation adds up.
                let margin = try #require(report["margin"] as? Double, "\(report)")
                #expect(abs(margin - (report["sum_of_parts"] as? Double ?? .nan)) < 1e-4)
                #expect(report["contributions"] as? Int == FeatureSchema.count)
                // The blocklist entry came and went, audited.
                #expect((report["added_message"] as? String)?.contains("203.0.113.77 added") == true, "\(report)")
                #expect((report["removed_message"] as? String)?.contains("203.0.113.77 removed") == true, "\(report)")
                #expect(try await !FeatureStore(namespace: "fraud").blocklistMembership(["203.0.113.77"], on: harness.redis)[0].listed)
                #expect(Set(audit.map(\.action)).isSuperset(of: ["blocklist.add", "blocklist.remove"]))
                // Refused: no CSRF token; a read key's label and blocklist change. Nothing changed.
                #expect(report["csrf_missing_status"] as? Int == 403)
                #expect(report["read_label_buttons"] as? Int == 0)
                #expect(report["read_label_status"] as? Int == 403 && report["read_blocklist_status"] as? Int == 403, "\(report)")
                let victim = try #require(report["decision_transaction"] as? String)
                #expect(try await harness.redis.send(RedisCommand("HGET", "fraud:labels", victim)).isNull)
                #expect(try await !FeatureStore(namespace: "fraud").blocklistMembership(["203.0.113.78"], on: harness.redis)[0].listed)
                // A narrow window needs no sideways scrolling.
                #expect(report["narrow_overflow_px"] as? Int == 0, "\(report)")
                for page in ["queue", "decision", "blocklist", "overview", "versions", "queue-narrow"] {
                    #expect(FileManager.default.fileExists(atPath: "\(shots)/console-\(page).png"), "\(page)")
                }
            }
        }
    }
}
