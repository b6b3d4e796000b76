import Foundation
import FraudServer
import Logging
import PostgresNIO
import RedisClient
import RedisHarness
import Testing

@testable import FraudArchive
@testable import FraudCore

/// `fraudstream archive` against a real PostgreSQL (Debian's, started by the harness in a temporary directory), a real
/// redis-server, real workers and a real `serve`, all through the binary as an operator runs them.
@Suite("Decision archive in a real PostgreSQL")
struct ArchiveTests {
    static let logger = Logger(label: "test.archive")

    /// Every archived decision, by transaction id, as PostgreSQL returns it (`row_to_json`).
    static func archived(_ store: ArchiveStore) async throws -> [String: [[String: Any]]] {
        let rows = try await store.jsonRows("SELECT row_to_json(d)::text FROM decisions d")
        return Dictionary(grouping: rows, by: { $0["transaction_id"] as? String ?? "" })
    }

    static func count(_ store: ArchiveStore) async throws -> Int { try await store.count() }

    /// Opens the archive, runs `body`, and closes it also when `body` throws.
    static func withStore<T>(_ postgres: PostgresServer, _ body: (ArchiveStore) async throws -> T) async throws -> T {
        try await ArchiveStore.withOpen(try PostgresSettings.parse(postgres.url), logger: Self.logger, body)
    }

    /// How many decisions are archived, on a connection of its own.
    static func count(_ postgres: PostgresServer) async throws -> Int {
        try await withStore(postgres) { try await $0.count() }
    }

    /// The results stream's entries.
    static func results(_ redis: RedisConnection, stream: String = "fraud:results") async throws -> [StreamEntry] {
        var entries: [StreamEntry] = []
        var start = "-"
        while true {
            let page = try await redis.send(XRange(stream: stream, start: start, end: "+", count: 5_000))
            guard let last = page.last else { break }
            entries += page
            start = "(" + last.id
        }
        return entries
    }

    /// The distinct transaction ids of the review queue.
    static func reviewTransactionIds(_ redis: RedisConnection) async throws -> [String] {
        Array(Set(try await results(redis, stream: "fraud:review").compactMap { $0.value(of: "transaction_id") })).sorted()
    }

    static func prepare(_ redisArguments: [String], count: Int, runId: String) async throws {
        let prepare = try await FraudStreamBinary.run(["prepare", "--users", "200", "--days", "2", "--trees", "10"] + redisArguments)
        #expect(prepare.status == 0, "\(prepare.standardError)")
        try await generate(redisArguments, count: count, runId: runId)
    }

    static func generate(_ redisArguments: [String], count: Int, runId: String) async throws {
        let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "20000", "--run-id", runId] + redisArguments)
        #expect(generate.status == 0, "\(generate.standardError)")
    }

    @Test func everyDecisionIsArchivedOnceFieldForFieldAfterTheArchiverIsKilledMidway() async throws {
        try await withPostgresServer { postgres in
            try await WorkerHarness.with { harness in
                let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
                let archiveArguments = redisArguments + ["--postgres-url", postgres.url, "--log-level", "warning"]
                let count = 3_000
                try await Self.prepare(redisArguments, count: count, runId: "archive")
                // With the full evidence: every results entry carries the transaction's contract fields and feature vector.
                try await ChildProcess.run(["worker", "--consumer-name", "w-archive", "--block-ms", "100", "--evidence", "full"] + redisArguments) { worker in
                    try await waitUntil("every transaction has a result", timeout: .seconds(120)) {
                        try await harness.redis.send(RedisCommand("XLEN", "fraud:results")).int == count
                    }
                    worker.send(SIGTERM)
                    #expect(try await worker.waitForExit(timeout: .seconds(60)) == .exited(0))
                }
                // A decision of the scoring API too.
                let created = try await FraudStreamBinary.run(["apikeys", "create", "--name", "archive", "--scope", "score"] + redisArguments)
                let key = try #require(created.standardOutput.split(separator: "\n").last.map(String.init))
                _ = try await ChildProcess.scoreOnceThroughServe(redisArguments + ["--evidence", "full"], key: key, transactionId: "archive-api-1")
                try await waitUntil("the API decision is recorded", timeout: .seconds(60)) {
                    try await harness.redis.send(RedisCommand("XLEN", "fraud:results")).int == count + 1
                }

                try await Self.withStore(postgres) { store in
                // Killed (SIGKILL) once some batches are in: whatever it had read and not acknowledged is read again.
                try await ChildProcess.run(["archive", "run", "--batch-size", "50"] + archiveArguments) { archiver in
                    try await waitUntil("the archiver writes its first batches", timeout: .seconds(120), pollEvery: .milliseconds(5)) {
                        try await Self.count(store) > 0
                    }
                    archiver.send(SIGKILL)
                    _ = try await archiver.waitForExit(timeout: .seconds(60))
                }
                let before = try await Self.count(store)
                #expect(before > 0 && before <= count + 1)
                try await ChildProcess.run(["archive", "run", "--batch-size", "200"] + archiveArguments) { archiver in
                    try await waitUntil("every decision is archived", timeout: .seconds(120)) { try await Self.count(store) == count + 1 }
                    // The review queue is copied too, each entry with its feature vector.
                    let queued = try await harness.redis.send(RedisCommand("XLEN", "fraud:review")).int ?? 0
                    #expect(queued > 0)
                    try await waitUntil("the review queue is archived", timeout: .seconds(120)) {
                        try await store.jsonRows("SELECT row_to_json(r)::text FROM reviews r").count == queued
                    }
                    let vectors = try await store.jsonRows("SELECT row_to_json(r)::text FROM (SELECT features FROM reviews) r")
                    #expect(vectors.allSatisfy { ($0["features"] as? [Any])?.count ?? 0 >= FeatureSchema.count }, "\(vectors.prefix(2))")
                    // An analyst's labels reach the archive too.
                    let reviewed = try await harness.redis.send(XRange(stream: "fraud:review", start: "-", end: "+", count: 2))
                    for (entry, label) in zip(reviewed, ["fraud", "legit"]) {
                        let resolve = try await FraudStreamBinary.run(["review", "resolve", entry.value(of: "transaction_id") ?? "", label] + redisArguments)
                        #expect(resolve.status == 0, "\(resolve.standardError)")
                    }
                    let labels = try await harness.redis.send(RedisCommand("HLEN", "fraud:labels")).int ?? 0
                    try await waitUntil("the labels are archived", timeout: .seconds(120)) {
                        try await store.jsonRows("SELECT row_to_json(l)::text FROM labels l").count == labels
                    }
                    // Nothing is left pending for the group.
                    try await waitUntil("the archive group has acknowledged everything", timeout: .seconds(60)) {
                        try await Archiver.lag(stream: "fraud:results", group: "archive", on: harness.redis) == 0
                    }
                    archiver.send(SIGTERM)
                    #expect(try await archiver.waitForExit(timeout: .seconds(60)) == .exited(0), "\(archiver.standardError)")
                }
                // Once each, equal field for field to the results stream.
                let rows = try await Self.archived(store)
                let entries = try await Self.results(harness.redis)
                #expect(rows.count == entries.count && entries.count == count + 1)
                #expect(rows.values.allSatisfy { $0.count == 1 })
                var mismatches: [String] = []
                for entry in entries {
                    let record = try #require(ResultRecord(id: entry.id, fields: entry.fields))
                    guard let row = rows[record.transactionId]?.first else {
                        mismatches.append("\(record.transactionId): missing")
                        continue
                    }
                    let reasons = (row["reasons"] as? [String]) ?? []
                    let same = row["entry_id"] as? String == entry.id && row["user_id"] as? String == record.userId
                        && row["run_id"] as? String == record.runId && row["decision"] as? String == record.decision
                        && row["score"] as? Double == record.score && row["is_fraud"] as? Bool == record.isFraud && reasons == record.reasons
                        && row["model_version"] as? Int == record.modelVersion && row["decided_by"] as? String == record.workerId
                        && row["source"] as? String == record.source.rawValue && row["source_entry_id"] as? String == record.sourceId
                        && row["latency_ms"] as? Double == record.latencyMilliseconds && row["amount"] as? Double == record.amount
                        && row["shadow_score"] as? Double == record.shadowScore
                        && row["shadow_model_version"] as? Int == record.shadowModelVersion
                        && row["queue_ms"] as? Double == record.queueMilliseconds && row["features_ms"] as? Double == record.featuresMilliseconds
                        && row["scoring_ms"] as? Double == record.scoringMilliseconds && row["results_stream"] as? String == "fraud:results"
                    // Every field has a column: `entry` keeps only fields without one, and these entries have none.
                    let extras = entry.fields.filter { ResultRecord.Field(rawValue: $0.0) == nil }
                    if !same || !extras.isEmpty || !(row["entry"] is NSNull) {
                        mismatches.append("\(record.transactionId): \(row) vs \(entry.fields)")
                    }
                }
                #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
                #expect(rows["archive-api-1"]?.first?["source"] as? String == "api")
                // The evidence columns hold the transaction as it was sent (the input stream's entry) and the vector and
                // rule set version it was decided with.
                let inputs = Dictionary(
                    try await Self.results(harness.redis, stream: "fraud:transactions").map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                var evidenceMismatches: [String] = []
                // The vectors as PostgreSQL prints them (shortest exact decimals: Foundation's JSON reader would round some).
                let vectorRows = try await store.jsonRows(
                    "SELECT row_to_json(v)::text FROM (SELECT transaction_id, array_to_string(features, ',') AS features FROM decisions) v")
                let vectors = Dictionary(vectorRows.compactMap { row -> (String, [Double])? in
                    guard let id = row["transaction_id"] as? String, let text = row["features"] as? String else { return nil }
                    return (id, text.split(separator: ",").compactMap { Double($0) })
                }, uniquingKeysWith: { first, _ in first })
                for entry in entries {
                    let record = try #require(ResultRecord(id: entry.id, fields: entry.fields))
                    guard let row = rows[record.transactionId]?.first, let evidence = record.evidence else {
                        evidenceMismatches.append("\(record.transactionId): no evidence in \(entry.fields)")
                        continue
                    }
                    let features = vectors[record.transactionId] ?? []
                    var checks: [String: Bool] = [
                        "merchant_id": row["merchant_id"] as? String == evidence.merchantId, "currency": row["currency"] as? String == evidence.currency,
                        "device_id": row["device_id"] as? String == evidence.deviceId, "ip": row["ip"] as? String == evidence.ip,
                        "lat": row["lat"] as? Double == evidence.lat, "lon": row["lon"] as? Double == evidence.lon,
                        "card_provider": row["card_provider"] as? String == evidence.cardProvider,
                        "merchant_category": row["merchant_category"] as? String == evidence.merchantCategory,
                        "features": features == evidence.features && features.count >= FeatureSchema.count,
                        "rules_version": row["rules_version"] as? Int == record.rulesVersion && record.rulesVersion != nil,
                    ]
                    if let input = inputs[record.sourceId] {
                        // The worker's: equal to what the producer sent.
                        checks["input merchant_id"] = input.value(of: "merchant_id") == evidence.merchantId
                        checks["input device_id"] = input.value(of: "device_id") == evidence.deviceId
                        checks["input ip"] = input.value(of: "ip") == evidence.ip
                        checks["input lat"] = input.value(of: "lat").flatMap(Double.init) == evidence.lat
                        checks["input lon"] = input.value(of: "lon").flatMap(Double.init) == evidence.lon
                        checks["input timestamp"] = input.value(of: "timestamp").flatMap { Int64($0) } == evidence.timestampMilliseconds
                    } else {
                        checks["an input entry"] = record.source == .api
                    }
                    let failed = checks.filter { !$0.value }.keys.sorted()
                    if !failed.isEmpty { evidenceMismatches.append("\(record.transactionId): \(failed) differ: \(row) vs \(entry.fields)") }
                }
                #expect(evidenceMismatches.isEmpty, "\(evidenceMismatches.prefix(2))")

                // The queries, through the binary.
                let anyId = try #require(entries.first.flatMap { ResultRecord(id: $0.id, fields: $0.fields) })
                let show = try await FraudStreamBinary.run(["archive", "show", anyId.transactionId, "--json", "--postgres-url", postgres.url])
                let shown = try JSONSerialization.jsonObject(with: Data(show.standardOutput.utf8)) as? [String: Any]
                #expect((shown?["decisions"] as? [[String: Any]])?.first?["decision"] as? String == anyId.decision, "\(show.standardError)")
                let reviews = entries.filter { $0.value(of: "decision") == "review" && $0.value(of: "user_id") == anyId.userId }.count
                let search = try await FraudStreamBinary.run([
                    "archive", "search", "--user", anyId.userId, "--decision", "review", "--limit", "100000", "--json", "--postgres-url", postgres.url,
                ])
                let found = try JSONSerialization.jsonObject(with: Data(search.standardOutput.utf8)) as? [[String: Any]]
                #expect(found?.count == reviews, "\(search.standardError)")
                let export = try await FraudStreamBinary.run(["archive", "export", "--format", "csv", "--postgres-url", postgres.url])
                let lines = export.standardOutput.split(separator: "\n")
                #expect(lines.first.map(String.init) == ArchiveStore.exportColumns.joined(separator: ","))
                #expect(lines.count == count + 2, "\(export.standardError)")
                let filtered = try await FraudStreamBinary.run([
                    "archive", "export", "--user", anyId.userId, "--decision", "review", "--postgres-url", postgres.url,
                ])
                #expect(filtered.standardOutput.split(separator: "\n").count == reviews + 1, "\(filtered.standardError)")
                // A failure after the connection is open is one line, and the connection is closed (a debug build
                // asserts on a connection left open).
                let unwritable = try await FraudStreamBinary.run(["archive", "export", "--output", "/nonexistent/x.csv", "--postgres-url", postgres.url])
                #expect(unwritable.status == 64 && unwritable.standardError.split(separator: "\n").count == 1, "\(unwritable.standardError)")
                // prepare --retrain --from-archive trains on the archive's labelled reviews: each labelled transaction's vector.
                let reviewIds = try await Self.reviewTransactionIds(harness.redis)
                let labelled = try await harness.redis.send(
                    RedisCommand("HMGET", arguments: ["fraud:labels"] + reviewIds.map { $0 as any RedisArgument })).array ?? []
                let expected = labelled.compactMap(\.string)
                let retrain = try await FraudStreamBinary.run([
                    "prepare", "--users", "200", "--days", "2", "--trees", "10", "--retrain", "--from-archive", "--reset-state",
                    "--postgres-url", postgres.url,
                ] + redisArguments)
                #expect(retrain.status == 0, "\(retrain.standardError)")
                #expect(
                    retrain.standardOutput.contains(
                        "retrain     \(expected.count) labelled reviews from the archive (\(expected.filter { $0 == "1" }.count) fraud)"),
                    "\(retrain.standardOutput)")
                #expect(expected.count >= 2)

                // The console reads a user's recent decisions from the archive.
                let consoleKey = try await APIKeyStore(namespace: "fraud").create(name: "archive-analyst", scopes: [.read], actor: "cli:test", on: harness.redis).secret
                let reviewed = try #require(try await ReviewQueue(streams: StreamNames()).items(count: 1, all: true, on: harness.redis).first)
                let userDecisions = entries.filter { $0.value(of: "user_id") == reviewed.userId }.count
                try await ChildProcess.run(["console", "--port", "0", "--postgres-url", postgres.url, "--log-level", "error"] + redisArguments) { console in
                    try await waitUntil("the console listens", timeout: .seconds(60)) { console.standardOutput.contains("console listening on") }
                    let port = try #require(console.standardOutput.firstMatch(of: #/listening on http://[^:]+:(\d+)/#).flatMap { Int($0.1) })
                    let signIn = try await HTTPConnection.connect(host: "127.0.0.1", port: port)
                    let reply = try await signIn.request(
                        .POST, "/login", body: Array("key=\(ConsoleTests.formEncode(consoleKey))".utf8), contentType: "application/x-www-form-urlencoded")
                    await signIn.close()
                    let cookie = try #require(reply.header("Set-Cookie")?.split(separator: ";").first.map(String.init), "\(reply.status)")
                    let client = try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Cookie", cookie)])
                    let page = try await client.request(.GET, "/decisions/\(ConsoleTests.formEncode(reviewed.transactionId))")
                    await client.close()
                    #expect(page.text.contains("From the decision archive"), "\(page.text.suffix(1500))")
                    // Every other decision of the user (at most 20), each a link to its page.
                    let rows = page.text.components(separatedBy: "<tr><td><a href=\"/decisions/").count - 1
                    #expect(rows == min(20, userDecisions - 1), "\(rows) rows for \(userDecisions) decisions")
                    console.send(SIGTERM)
                    _ = try await console.waitForExit(timeout: .seconds(60))
                }
                }
            }
        }
    }

    /// Two archivers share a namespace's results, a third killed midway leaves entries pending that they take over,
    /// and the hold follows the whole group: with the worker trimming its results to ~500 entries while they archive,
    /// every decision is archived exactly once.
    @Test func severalArchiversShareTheWorkAndTakeOverWhatAKilledOneLeft() async throws {
        try await withPostgresServer { postgres in
            try await WorkerHarness.with { harness in
                let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
                let archiveArguments = ["archive", "run", "--postgres-url", postgres.url, "--log-level", "error", "--batch-size", "50"]
                    + redisArguments
                let first = 1_000
                let later = 4_000
                try await Self.prepare(redisArguments, count: first, runId: "first")
                try await Self.withStore(postgres) { store in
                    try await ChildProcess.run(
                        ["worker", "--consumer-name", "w-many", "--block-ms", "100", "--max-stream-length", "500"] + redisArguments
                    ) { worker in
                        // The first archiver is killed once it has written some batches: what it read stays pending for it.
                        try await ChildProcess.run(archiveArguments + ["--consumer-name", "a"]) { archiver in
                            try await waitUntil("the first archiver writes", timeout: .seconds(120), pollEvery: .milliseconds(5)) {
                                try await Self.count(store) > 0
                            }
                            archiver.send(SIGKILL)
                            _ = try await archiver.waitForExit(timeout: .seconds(60))
                        }
                        try await ChildProcess.run(archiveArguments + ["--consumer-name", "b", "--claim-idle-ms", "2000"]) { b in
                            try await ChildProcess.run(archiveArguments + ["--consumer-name", "c", "--claim-idle-ms", "2000"]) { c in
                                try await Self.generate(redisArguments, count: later, runId: "later")
                                try await waitUntil("every decision is archived", timeout: .seconds(180)) {
                                    try await Self.count(store) >= first + later
                                }
                                try await waitUntil("nothing is left pending in the group", timeout: .seconds(60)) {
                                    try await Archiver.lag(stream: "fraud:results", group: "archive", on: harness.redis) == 0
                                }
                                for archiver in [b, c] {
                                    archiver.send(SIGTERM)
                                    #expect(try await archiver.waitForExit(timeout: .seconds(60)) == .exited(0), "\(archiver.standardError)")
                                }
                            }
                        }
                        worker.send(SIGTERM)
                        #expect(try await worker.waitForExit(timeout: .seconds(60)) == .exited(0))
                    }
                    #expect(try await Self.count(store) == first + later)
                    let ids = try await store.jsonRows("SELECT row_to_json(d)::text FROM (SELECT transaction_id, decided_by FROM decisions) d")
                    #expect(Set(ids.compactMap { $0["transaction_id"] as? String }).count == first + later)
                    // Both running archivers did part of the work (each reads what the other has not).
                    let consumers = try await harness.redis.send(RedisCommand("XINFO", "CONSUMERS", "fraud:results", "archive")).array ?? []
                    #expect(consumers.count == 3, "\(consumers)")
                }
            }
        }
    }

    @Test func aPostgresOutageUnderTrafficLosesNothingAndTheWorkerKeepsWhatIsNotArchived() async throws {
        try await withPostgresServer { postgres in
            try await WorkerHarness.with { harness in
                let redisArguments = ["--redis-url", "redis://127.0.0.1:\(harness.server.port)"]
                let first = 1_000
                let during = 4_000
                try await Self.prepare(redisArguments, count: first, runId: "before")
                try await ChildProcess.run(["archive", "run", "--postgres-url", postgres.url, "--log-level", "error"] + redisArguments) { archiver in
                    // The results stream's MAXLEN is far below what the outage leaves unarchived.
                    try await ChildProcess.run(
                        ["worker", "--consumer-name", "w-outage", "--block-ms", "100", "--max-stream-length", "500"] + redisArguments
                    ) { worker in
                        try await waitUntil("the first transactions are archived", timeout: .seconds(120)) { try await Self.count(postgres) == first }
                        await postgres.stopKeepingData()
                        let stopped = ContinuousClock.now
                        try await Self.generate(redisArguments, count: during, runId: "during")
                        try await waitUntil("the worker decides them", timeout: .seconds(120)) {
                            let stats = try await harness.redis.send(RedisCommand("XINFO", "GROUPS", "fraud:transactions"))
                            let group = stats.array?.first?.fieldMap
                            return group?["pending"]?.int == 0 && group?["lag"]?.int == 0
                        }
                        // Held: nothing unarchived was trimmed, though MAXLEN is 500.
                        let length = try await harness.redis.send(RedisCommand("XLEN", "fraud:results")).int ?? 0
                        #expect(length >= during, "results stream of \(length) entries")
                        #expect((try await Archiver.lag(stream: "fraud:results", group: "archive", on: harness.redis) ?? 0) >= during)
                        // Thirty seconds without PostgreSQL, then it is back.
                        let remaining = .seconds(30) - (ContinuousClock.now - stopped)
                        if remaining > .zero { try await Task.sleep(for: remaining) }
                        try await postgres.launch()
                        try await waitUntil("the archive catches up", timeout: .seconds(180)) { try await Self.count(postgres) == first + during }
                        let rows = try await Self.withStore(postgres) { try await Self.archived($0) }
                        #expect(rows.count == first + during && rows.values.allSatisfy { $0.count == 1 })
                        // Once archived, the stream is trimmed back towards its MAXLEN by the next writes.
                        try await Self.generate(redisArguments, count: 200, runId: "after")
                        try await waitUntil("the stream is trimmed again", timeout: .seconds(120)) {
                            (try await harness.redis.send(RedisCommand("XLEN", "fraud:results")).int ?? 0) < 1_500
                        }
                        worker.send(SIGTERM)
                        _ = try await worker.waitForExit(timeout: .seconds(60))
                    }
                    archiver.send(SIGTERM)
                    #expect(try await archiver.waitForExit(timeout: .seconds(60)) == .exited(0), "\(archiver.standardError)")
                }
            }
        }
    }

    /// A decision record for store-level tests.
    static func record(_ id: String, milliseconds: Int64, decision: String = "approve") -> ArchiveStore.Row {
        let fields = [
            ("transaction_id", id), ("user_id", "u1"), ("run_id", "r"), ("score", "0.25"), ("is_fraud", "0"), ("decision", decision),
            ("reasons", "velocity,new_device"), ("model_version", "3"), ("worker_id", "w1"), ("source_id", "1-1"), ("latency_ms", "1.5"),
            ("amount", "12.5"),
        ]
        return ArchiveStore.Row(stream: "fraud:results", record: ResultRecord(id: "\(milliseconds)-0", fields: fields)!, fields: fields)
    }

    @Test func replayedRowsInsertNothingRetentionDropsOldPartitionsAndANewerSchemaIsRefused() async throws {
        try await withPostgresServer { postgres in
            try await Self.withStore(postgres) { store in
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let old = now - 800 * 86_400_000
            let rows = [Self.record("t-old", milliseconds: old), Self.record("t-new", milliseconds: now), Self.record("t-new2", milliseconds: now + 1)]
            #expect(try await store.insert(rows) == 3)
            // A replayed batch (an archiver killed after the commit, before its acknowledgement) inserts nothing.
            #expect(try await store.insert(rows) == 0)
            #expect(try await store.count() == 3)
            let shown = try await store.show("t-new")
            #expect(shown.decisions.count == 1 && (shown.decisions.first?["reasons"] as? [String]) == ["velocity", "new_device"])
            // Bounded in time: outside the bounds it is not found.
            let today = Date(timeIntervalSince1970: Double(now) / 1000)
            #expect(try await store.show("t-new", from: today.addingTimeInterval(-60), to: today.addingTimeInterval(60)).decisions.count == 1)
            #expect(try await store.show("t-new", from: today.addingTimeInterval(60)).decisions.isEmpty)
            var filter = ArchiveStore.Filter()
            filter.reason = "velocity"
            filter.from = Date(timeIntervalSince1970: Double(now - 86_400_000) / 1000)
            #expect(try await store.search(filter).count == 2)
            // Any text goes through the copy as it was: tabs, line breaks, backslashes and quotes, in values, reasons and
            // a field without a column of its own (kept in `entry`); the evidence and the vector land in their columns.
            let awkward = "t\tab\nline\\back\"quote\r🙂"
            let fields = [
                ("transaction_id", awkward), ("user_id", "u\\2"), ("run_id", "r\t1"), ("score", "0.75"), ("is_fraud", "1"),
                ("decision", "decline"), ("reasons", "q\"uote,back\\slash,{brace}"), ("model_version", "4"), ("worker_id", "w"),
                ("source_id", ""), ("latency_ms", "2.25"), ("amount", "1e-05"), ("source", "api"), ("merchant_id", "m\n1"),
                ("currency", "EUR"), ("lat", "48.5"), ("lon", "-2.25"), ("timestamp", "1796688007200"), ("features", "1.5,0.0,-3e-05"),
                ("note", awkward),
            ]
            let odd = ArchiveStore.Row(stream: "fraud:results", record: ResultRecord(id: "\(now + 2)-0", fields: fields)!, fields: fields)
            #expect(try await store.insert([odd]) == 1)
            let back = try #require(try await store.show(awkward).decisions.first)
            #expect(back["transaction_id"] as? String == awkward && back["user_id"] as? String == "u\\2" && back["run_id"] as? String == "r\t1")
            #expect(back["reasons"] as? [String] == ["q\"uote", "back\\slash", "{brace}"])
            #expect(back["entry"] as? [String: String] == ["note": awkward])
            #expect(back["merchant_id"] as? String == "m\n1" && back["lat"] as? Double == 48.5 && back["amount"] as? Double == 1e-05)
            #expect(back["features"] as? [Double] == [1.5, 0, -3e-05] && back["device_id"] is NSNull && back["source"] as? String == "api")
            #expect(back["shadow_score"] is NSNull && back["rules_version"] is NSNull && back["event_at"] as? String != nil)
            #expect(try await store.insert([odd]) == 0)
            // Nothing in one entry fails a batch: a NUL (PostgreSQL's text holds none: kept as U+FFFD), a non-finite
            // amount, a vector that is not a list of numbers, an event time past year 9999.
            let poisonFields = [
                ("transaction_id", "nul\u{0}id"), ("user_id", "u3"), ("score", "0.5"), ("decision", "approve"), ("model_version", "1"),
                ("amount", "nan"), ("merchant_id", "m"), ("currency", "EUR"), ("features", "1,,2"), ("timestamp", "999999999999999999"),
                ("note", "a\u{0}b"),
            ]
            let poison = ArchiveStore.Row(
                stream: "fraud:results", record: ResultRecord(id: "\(now + 3)-0", fields: poisonFields)!, fields: poisonFields)
            #expect(try await store.insert([poison, Self.record("t-after-poison", milliseconds: now + 4)]) == 2)
            let kept = try #require(try await store.show("nul\u{FFFD}id").decisions.first)
            #expect(kept["features"] is NSNull && kept["event_at"] is NSNull && kept["entry"] as? [String: String] == ["note": "a\u{FFFD}b"])
            // Retention: the partition of 800 days ago goes, today's stays.
            let dropped = try await store.dropPartitions(olderThanDays: 730)
            #expect(dropped == [ArchiveStore.partitionName(day: ArchiveStore.day(ofMilliseconds: old))])
            #expect(try await store.count() == 5)
            #expect(try await store.dropPartitions(olderThanDays: 730).isEmpty)
            // A schema newer than this binary's is refused with one line.
            try await store.connection.query("INSERT INTO fraudstream_schema (version) VALUES (99)", logger: Self.logger)
            }
            do {
                _ = try await ArchiveStore.open(try PostgresSettings.parse(postgres.url), logger: Self.logger)
                Issue.record("a newer schema was accepted")
            } catch {
                #expect("\(error)".contains("newer than this fraudstream knows"), "\(error)")
            }
        }
    }

    @Test func fieldsWithoutAColumnAreKeptAsJSONWhateverTheirCharacters() throws {
        let fields = [
            ("transaction_id", "t1"), ("note", "q\"uote\\back\nline\u{01}é🙂"), ("user_id", "u1"), ("note", "second"), ("score", "0.5"),
        ]
        let row = ArchiveStore.Row(stream: "s", record: ResultRecord(id: "1-0", fields: fields + [("decision", "approve"), ("model_version", "1")])!, fields: fields)
        let decoded = try JSONSerialization.jsonObject(with: Data((row.extrasJSON ?? "").utf8)) as? [String: String]
        #expect(decoded == ["note": "q\"uote\\back\nline\u{01}é🙂"])
        #expect(Self.record("t", milliseconds: 1).extrasJSON == nil)
    }

    /// What the vector check lets through is exactly what PostgreSQL's float8[] reads: nothing else can fail a batch.
    @Test func onlyListsOfNumbersPassForAVector() {
        for good in ["74.26,4.3209487851652915,0.0,-1.0", "1e-05", "5e+16,-2E3", ".5,1.", "nan,-inf,+Infinity,NaN", "0"] {
            #expect(ArchiveStore.Row.isNumberList(good), "\(good)")
        }
        for bad in ["", "1,,2", "1,2,", ",1", "e", "-", "1e", "1e+", ".", "1.2.3", "0x1p3", "nanx", "infinite", "1 2", "1;2", "{1}", "--1", "1-"] {
            #expect(!ArchiveStore.Row.isNumberList(bad), "\(bad)")
        }
    }

    @Test func badArchiveSettingsAndAnUnreachablePostgresAreOneLine() async throws {
        let unreachable = try await FraudStreamBinary.run(["archive", "search", "--postgres-url", "postgres://fraudstream@127.0.0.1:1/x"])
        #expect(unreachable.status == 69 && unreachable.standardError.split(separator: "\n").count == 1, "\(unreachable.standardError)")
        #expect(unreachable.standardError.contains("cannot reach PostgreSQL at postgres://fraudstream@127.0.0.1:1/x"), "\(unreachable.standardError)")
        let missing = try await FraudStreamBinary.run(["archive", "search"], environment: ["POSTGRES_URL": ""])
        #expect(missing.status == 64 && missing.standardError.contains("POSTGRES_URL"), "\(missing.standardError)")
        let badMode = try await FraudStreamBinary.run(["archive", "search", "--postgres-url", "postgres://h/db?sslmode=maybe"])
        #expect(badMode.status == 64 && badMode.standardError.split(separator: "\n").count == 1, "\(badMode.standardError)")
        for (flags, expected) in [(["--claim-idle-ms", "5"], "--claim-idle-ms must be 1000")] {
            let bad = try await FraudStreamBinary.run(["archive", "run", "--postgres-url", "postgres://fraudstream@127.0.0.1:1/x"] + flags)
            #expect(bad.status == 64 && bad.standardError.contains(expected), "\(bad.standardError)")
        }
        let badEvidence = try await FraudStreamBinary.run(["worker", "--evidence", "all", "--redis-url", "redis://127.0.0.1:1"])
        #expect(badEvidence.status == 64 && badEvidence.standardError.contains("must be one of reviews, full"), "\(badEvidence.standardError)")
        let fromAlone = try await FraudStreamBinary.run(["prepare", "--from-archive"])
        #expect(fromAlone.status == 64 && fromAlone.standardError.contains("--from-archive goes with --retrain"), "\(fromAlone.standardError)")
    }

    @Test func postgresURLsParseWithSSLModes() throws {
        let parsed = try PostgresSettings.parse("postgres://ops:s%40cret@db.internal:6543/archive?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(parsed.host == "db.internal" && parsed.port == 6543 && parsed.user == "ops" && parsed.password == "s@cret")
        #expect(parsed.database == "archive" && parsed.tlsMode == .verifyFull && parsed.caFile == "/etc/ca.pem")
        #expect(parsed.description == "postgres://ops:***@db.internal:6543/archive?sslmode=verify-full")
        #expect(throws: FraudError.self) { try PostgresSettings.parse("postgres://h/db?sslmode=sometimes") }
        #expect(throws: FraudError.self) { try PostgresSettings.parse("http://h/db") }
        #expect(throws: FraudError.self) {
            try PostgresSettings.resolve(SettingsResolver(flags: [PostgresSettings.url: "postgres://h/db?sslmode=verify-ca"], environment: [:]))
        }
    }
}
