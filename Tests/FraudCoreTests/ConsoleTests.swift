import Foundation
import FraudCore
import FraudServer
import Logging
import RedisClient
import RedisHarness
import ServiceLifecycle
import Synchronization
import Testing

/// The analyst console (`fraudstream console`) against a real redis-server with a prepared world and a run with
/// reviews: sign-in, sessions, CSRF, scopes, labels, the blocklist and the explanation.
@Suite("Analyst console against a real redis-server")
struct ConsoleTests {
    /// A console in this process on a free port.
    struct Console {
        let port: Int
        let group: ServiceGroup
        let running: Task<Void, any Error>

        func connect(cookie: String? = nil, origin: String? = nil) async throws -> HTTPConnection {
            var headers: [(String, String)] = []
            if let cookie { headers.append(("Cookie", cookie)) }
            if let origin { headers.append(("Origin", origin)) }
            return try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: headers)
        }

        /// Signs in with `key`; the session cookie (`name=value`), or nil with the reply when refused.
        func signIn(_ key: String, origin: String? = nil) async throws -> (cookie: String?, reply: HTTPConnection.Reply) {
            let client = try await connect(origin: origin)
            let reply = try await client.request(.POST, "/login", body: Array("key=\(ConsoleTests.formEncode(key))".utf8), contentType: "application/x-www-form-urlencoded")
            await client.close()
            let cookie = reply.header("Set-Cookie")?.split(separator: ";").first.map(String.init)
            return (reply.status == 303 ? cookie : nil, reply)
        }

        func get(_ path: String, cookie: String?) async throws -> HTTPConnection.Reply {
            let client = try await connect(cookie: cookie)
            defer { Task { await client.close() } }
            return try await client.request(.GET, path)
        }

        func post(_ path: String, _ form: [(String, String)], cookie: String?, origin: String? = nil) async throws -> HTTPConnection.Reply {
            let client = try await connect(cookie: cookie, origin: origin)
            defer { Task { await client.close() } }
            let body = form.map { "\(ConsoleTests.formEncode($0.0))=\(ConsoleTests.formEncode($0.1))" }.joined(separator: "&")
            return try await client.request(.POST, path, body: Array(body.utf8), contentType: "application/x-www-form-urlencoded")
        }
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// The CSRF token in a page's forms.
    static func csrf(_ html: String) -> String? {
        html.firstMatch(of: #/name="csrf" value="([0-9a-f]+)"/#).map { String($0.1) }
    }

    /// A prepared world and a run of `count` generated transactions, each decided by a worker (so the queue has reviews).
    static func decideRun(_ harness: WorkerHarness, count: Int, runId: String) async throws {
        let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
        try await ArchiveTests.prepare(redisArguments, count: count, runId: runId)
        try await ChildProcess.run(["worker", "--consumer-name", "w-\(runId)", "--block-ms", "100"] + redisArguments) { worker in
            try await waitUntil("every transaction has a result", timeout: .seconds(120)) {
                try await harness.redis.send(RedisCommand("XLEN", "fraud:results")).int == count
            }
            worker.send(SIGTERM)
            #expect(try await worker.waitForExit(timeout: .seconds(60)) == .exited(0))
        }
    }

    static func withConsole<T>(_ harness: WorkerHarness, _ body: (Console) async throws -> T) async throws -> T {
        var configuration = ConsoleConfiguration()
        configuration.port = 0
        let listening = Mutex<Int?>(nil)
        let application = try await ConsoleServer(configuration: configuration, redis: harness.server.configuration, logger: Logger(label: "test.console"))
            .application { port in listening.withLock { $0 = port } }
        let group = ServiceGroup(configuration: .init(services: [application], logger: Logger(label: "test.console")))
        let running = Task { try await group.run() }
        do {
            try await waitUntil("the console listens", timeout: .seconds(60)) { listening.withLock { $0 } != nil }
            let result = try await body(Console(port: listening.withLock { $0 } ?? 0, group: group, running: running))
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    @Test func analystsSignInWorkTheQueueAndChangeTheBlocklistOnlyWithTheirScope() async throws {
        try await WorkerHarness.with { harness in
            try await Self.decideRun(harness, count: 2_000, runId: "console")
            let store = APIKeyStore(namespace: "fraud")
            let admin = try await store.create(name: "analyst", scopes: [.admin, .read], actor: "cli:test", on: harness.redis).secret
            let reader = try await store.create(name: "viewer", scopes: [.read], actor: "cli:test", on: harness.redis).secret
            let scorer = try await store.create(name: "payments", scopes: [.score], actor: "cli:test", on: harness.redis).secret
            let open = try await ReviewQueue(streams: StreamNames()).items(count: 10_000, all: false, on: harness.redis)
            #expect(open.count >= 5)

            try await Self.withConsole(harness) { console in
                // Signed out: every page leads to the sign-in page.
                #expect(try await console.get("/", cookie: nil).status == 302)
                #expect(try await console.signIn("fsk_0000000000000000_" + String(repeating: "x", count: 43)).reply.status == 401)
                #expect(try await console.signIn(scorer).reply.status == 403)
                // A sign-in posted from another site (login CSRF) is refused.
                #expect(try await console.signIn(admin, origin: "http://evil.example").reply.status == 403)
                let (adminCookie, signedIn) = try await console.signIn(admin)
                let cookie = try #require(adminCookie, "\(signedIn.status) \(signedIn.text)")
                let attributes = signedIn.header("Set-Cookie") ?? ""
                #expect(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict") && attributes.contains("Path=/"), "\(attributes)")
                // A tampered cookie is no session.
                #expect(try await console.get("/", cookie: String(cookie.dropLast()) + (cookie.hasSuffix("0") ? "1" : "0")).status == 302)

                // The queue: every open review counted, the page's forms carry the CSRF token.
                let queue = try await console.get("/", cookie: cookie)
                #expect(queue.status == 200)
                #expect(queue.text.contains("id=\"open-count\">\(open.count)<"), "\(queue.text.prefix(600))")
                let csrf = try #require(Self.csrf(queue.text))
                // Pages of 100: every open review is on exactly one page.
                var listed = 0
                var pageIndex = 0
                while true {
                    let text = pageIndex == 0 ? queue.text : try await console.get("/?page=\(pageIndex)", cookie: cookie).text
                    listed += text.components(separatedBy: "<tr data-transaction=").count - 1
                    guard text.contains("id=\"next-page\"") else { break }
                    pageIndex += 1
                }
                #expect(listed == open.count && pageIndex == (open.count - 1) / 100, "\(listed) listed on \(pageIndex + 1) pages of \(open.count)")
                // Five reviews labelled, as the keyboard's buttons post them.
                let five = Array(open.prefix(5))
                for (index, item) in five.enumerated() {
                    let reply = try await console.post(
                        "/decisions/\(item.transactionId)/label", [("csrf", csrf), ("next", "queue"), ("label", index % 2 == 0 ? "fraud" : "legit")], cookie: cookie)
                    #expect(reply.status == 303, "\(reply.text.prefix(300))")
                }
                let labels = try await harness.redis.send(RedisCommand("HMGET", arguments: ["fraud:labels"] + five.map { $0.transactionId as any RedisArgument }))
                #expect(labels.array?.map(\.string) == five.indices.map { $0 % 2 == 0 ? "1" : "0" })
                let audit = try await AuditLog(namespace: "fraud").list(on: harness.redis)
                #expect(audit.filter { $0.actor == "console:analyst" && $0.action == "review.resolve" }.count == 5, "\(audit)")
                let after = try await console.get("/", cookie: cookie)
                #expect(after.text.contains("id=\"open-count\">\(open.count - 5)<"))

                // Free text in a link is never shown as a notice.
                #expect(try await !console.get("/?message=paste%20your%20key%20at%20evil", cookie: cookie).text.contains("paste your key"))
                // An id with characters a path must encode is labelled under itself; an unknown id is not labelled.
                let odd = "tx 1:é/.."
                _ = try await harness.redis.send(RedisCommand(
                    "XADD", "fraud:review", "*", "transaction_id", odd, "user_id", "u1", "run_id", "console", "score", "0.5", "reasons", "new_device",
                    "amount", "10", "source_id", "", "features", "", "model_version", "1"))
                let oddPath = "/decisions/" + Self.formEncode(odd).replacingOccurrences(of: ".", with: "%2E")
                #expect(try await console.get(oddPath, cookie: cookie).status == 200)
                #expect(try await console.post(oddPath + "/label", [("csrf", csrf), ("label", "legit")], cookie: cookie).status == 200)
                #expect(try await harness.redis.send(RedisCommand("HGET", "fraud:labels", odd)).string == "0")
                #expect(try await console.post("/decisions/no-such-tx/label", [("csrf", csrf), ("label", "fraud")], cookie: cookie).status == 404)
                #expect(try await harness.redis.send(RedisCommand("HGET", "fraud:labels", "no-such-tx")).isNull)
                // Looks at the same time while reviews arrive: the queue ends with every one of them.
                let arriving = (0..<50).map { "late-\($0)" }
                async let looks: [Int] = withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<8 { group.addTask { try await console.get("/", cookie: cookie).status } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for id in arriving {
                    _ = try await harness.redis.send(RedisCommand(
                        "XADD", "fraud:review", "*", "transaction_id", id, "user_id", "u2", "run_id", "console", "score", "0.4", "reasons", "new_device",
                        "amount", "10", "source_id", "", "features", "", "model_version", "1"))
                }
                #expect(try await looks.allSatisfy { $0 == 200 })
                #expect(try await console.get("/", cookie: cookie).text.contains("id=\"open-count\">\(open.count - 5 + arriving.count)<"))

                // Without the CSRF token, or from another origin: refused, nothing changed.
                let victim = open[5].transactionId
                #expect(try await console.post("/decisions/\(victim)/label", [("label", "fraud")], cookie: cookie).status == 403)
                #expect(try await console.post("/decisions/\(victim)/label", [("csrf", "00" + csrf.dropFirst(2)), ("label", "fraud")], cookie: cookie).status == 403)
                #expect(try await console.post("/decisions/\(victim)/label", [("csrf", csrf), ("label", "fraud")], cookie: cookie, origin: "http://evil.example").status == 403)
                #expect(try await harness.redis.send(RedisCommand("HGET", "fraud:labels", victim)).isNull)

                // The decision: the explanation's contributions add up to the margin shown, and the margin gives the score.
                let page = try await console.get("/decisions/\(five[0].transactionId)", cookie: cookie)
                #expect(page.status == 200)
                let base = try #require(page.text.firstMatch(of: #/id="base-margin">(-?[0-9.]+)</#).flatMap { Double($0.1) }, "\(page.text)")
                let margin = try #require(page.text.firstMatch(of: #/id="margin">(-?[0-9.]+)</#).flatMap { Double($0.1) })
                let contributions = page.text.matches(of: #/class="contribution">(-?[0-9.]+)</#).compactMap { Double($0.1) }
                #expect(contributions.count == FeatureSchema.count)
                #expect(abs(base + contributions.reduce(0, +) - margin) < 1e-4, "base \(base) + \(contributions) vs \(margin)")
                let score = try #require(Double(five[0].score))
                #expect(abs(1 / (1 + exp(-margin)) - score) < 1e-5, "margin \(margin) vs score \(score)")
                #expect(page.text.contains("id=\"label\">fraud<"))
                #expect(page.text.contains("<svg"))

                // The blocklist: added and removed by the admin, each audited with the key's name.
                let blocklistPage = try await console.get("/blocklist", cookie: cookie)
                let blocklistCSRF = try #require(Self.csrf(blocklistPage.text))
                #expect(try await console.post("/blocklist", [("csrf", blocklistCSRF), ("ip", "198.51.100.7"), ("action", "add")], cookie: cookie).status == 200)
                let features = FeatureStore(namespace: "fraud")
                #expect(try await features.blocklistMembership(["198.51.100.7"], on: harness.redis)[0].listed)
                #expect(try await console.get("/blocklist?ip=198.51.100.7", cookie: cookie).text.contains("on the blocklist"))
                #expect(try await console.post("/blocklist", [("csrf", blocklistCSRF), ("ip", "198.51.100.7"), ("action", "remove")], cookie: cookie).status == 200)
                #expect(try await !features.blocklistMembership(["198.51.100.7"], on: harness.redis)[0].listed)
                let blocklistAudit = try await AuditLog(namespace: "fraud").list(on: harness.redis).filter { $0.actor == "console:analyst" }
                #expect(Set(blocklistAudit.map(\.action)).isSuperset(of: ["blocklist.add", "blocklist.remove"]), "\(blocklistAudit)")
                #expect(try await console.post("/blocklist", [("csrf", blocklistCSRF), ("ip", "not-an-ip"), ("action", "add")], cookie: cookie).status == 422)

                // The overview: the last hour's and day's counts and their charts.
                let overview = try await console.get("/overview", cookie: cookie)
                #expect(overview.status == 200)
                #expect(overview.text.components(separatedBy: "<span class=\"scored\">2000</span>").count == 3, "\(overview.text.prefix(2000))")
                #expect(overview.text.contains("decisions per minute") && overview.text.contains("<td>champion</td>"))
                // Each rule's hits and precision in the run, as the run statistics count them (generated traffic is labelled).
                let run = try await RunStatistics.load(run: "console", namespace: "fraud", on: harness.redis)
                let (code, hits) = try #require(run.counters.filter { $0.key.hasPrefix("reason:") }.max { $0.value < $1.value })
                #expect(overview.text.contains("<tr><td><code>\(code.dropFirst(7))</code></td><td>\(hits)</td>"), "\(code) \(hits)")

                // Versions: a second model promoted only with the confirmation; a rule set diff.
                let models = ModelStore(namespace: "fraud")
                let champion = try #require(try await models.latestVersion(on: harness.redis))
                let second = try await models.save(try await models.load(champion, on: harness.redis), promote: false, on: harness.redis)
                let rules = RuleStore(namespace: "fraud")
                let ruleVersion = try await rules.save(
                    RuleSet.defaultText + "\namount > 5000 => review reason big_amount\n", note: "big amounts", promote: false, on: harness.redis)
                let versionsPage = try await console.get("/versions?a=0&b=\(ruleVersion)", cookie: cookie)
                #expect(versionsPage.status == 200)
                #expect(versionsPage.text.contains("<span class=\"added\">+ amount &gt; 5000 =&gt; review reason big_amount</span>"), "\(versionsPage.text)")
                let versionsCSRF = try #require(Self.csrf(versionsPage.text))
                #expect(try await console.post("/models/\(second)/promote", [("csrf", versionsCSRF)], cookie: cookie).status == 400)
                #expect(try await models.latestVersion(on: harness.redis) == champion)
                #expect(try await console.post("/models/\(second)/promote", [("csrf", versionsCSRF), ("confirm", "yes")], cookie: cookie).status == 200)
                #expect(try await models.latestVersion(on: harness.redis) == second)
                let promotions = try await AuditLog(namespace: "fraud").list(on: harness.redis).filter { $0.actor == "console:analyst" && $0.action == "models.promote" }
                #expect(promotions.count == 1, "\(promotions)")

                // A read key looks but changes nothing: 403, and no label or blocklist entry appears.
                let readCookie = try #require(try await console.signIn(reader).cookie)
                let readQueue = try await console.get("/", cookie: readCookie)
                #expect(readQueue.status == 200 && !readQueue.text.contains("value=\"fraud\""))
                let readCSRF = try #require(Self.csrf(readQueue.text))
                #expect(try await console.post("/decisions/\(victim)/label", [("csrf", readCSRF), ("label", "fraud")], cookie: readCookie).status == 403)
                #expect(try await console.post("/blocklist", [("csrf", readCSRF), ("ip", "198.51.100.8"), ("action", "add")], cookie: readCookie).status == 403)
                #expect(try await harness.redis.send(RedisCommand("HGET", "fraud:labels", victim)).isNull)
                #expect(try await !features.blocklistMembership(["198.51.100.8"], on: harness.redis)[0].listed)
                #expect(try await console.post("/models/\(champion)/promote", [("csrf", readCSRF), ("confirm", "yes")], cookie: readCookie).status == 403)
                #expect(try await models.latestVersion(on: harness.redis) == second)
                // One session's token does not pass for another's.
                #expect(try await console.post("/decisions/\(victim)/label", [("csrf", csrf), ("label", "fraud")], cookie: readCookie).status == 403)

                // A revoked key ends its sessions at once.
                #expect(try await store.revoke(name: "viewer", actor: "cli:test", on: harness.redis))
                #expect(try await console.get("/", cookie: readCookie).status == 302)
                // Signing out ends the cookie in the browser.
                let out = try await console.post("/logout", [("csrf", csrf)], cookie: cookie)
                #expect(out.status == 302 && (out.header("Set-Cookie") ?? "").contains("Max-Age=0"))
            }
        }
    }

    @Test func badConsoleFlagsAndAnUnreachableRedisAreOneLine() async throws {
        for (arguments, expected) in [
            (["console", "--port", "70000"], "--port must be 0 to 65535"), (["console", "--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
            (["console", "--session-key-file", "/nonexistent", "--redis-url", "redis://127.0.0.1:1"], "cannot"),
        ] {
            let outcome = try await FraudStreamBinary.run(arguments)
            #expect(outcome.status != 0 && outcome.standardError.split(separator: "\n").count == 1, "\(arguments): \(outcome.standardError)")
            #expect(outcome.standardError.contains(expected), "\(arguments): \(outcome.standardError)")
        }
    }

    @Test func sessionTokensAreSignedExpireAndCarryTheirOwnCSRFToken() throws {
        let signer = ConsoleSessionSigner(secret: Array(repeating: 7, count: 32), lifetimeMilliseconds: 1_000)
        let session = signer.newSession(keyId: "0123456789abcdef", now: 10_000)
        let token = signer.token(session)
        #expect(signer.session(fromToken: token, now: 10_500) == session)
        #expect(signer.session(fromToken: token, now: 11_000) == nil, "expired")
        #expect(ConsoleSessionSigner(secret: Array(repeating: 8, count: 32)).session(fromToken: token, now: 10_500) == nil, "another key")
        #expect(signer.session(fromToken: "x" + token, now: 10_500) == nil)
        #expect(signer.session(fromToken: "", now: 10_500) == nil)
        let other = signer.newSession(keyId: "0123456789abcdef", now: 10_000)
        #expect(signer.isValidCSRF(signer.csrfToken(session), for: session))
        #expect(!signer.isValidCSRF(signer.csrfToken(other), for: session))
        #expect(!signer.isValidCSRF("", for: session) && !signer.isValidCSRF("zz", for: session))
    }
}
