import FraudCore
import Foundation
import Logging
import PostgresNIO
import RedisClient
import Synchronization

/// The archive's tables in PostgreSQL: writes (decisions in one statement per batch, effectively once by their
/// primary key; daily partitions made as needed and dropped by retention), and the queries people need.
public final class ArchiveStore: Sendable {
    private let current: Mutex<PostgresConnection>
    public let settings: PostgresSettings
    let logger: Logger
    /// Days whose partition is known to exist.
    private let knownDays = Mutex<Set<Int>>([])

    /// The connection in use (a new one after ``reconnect()``).
    public var connection: PostgresConnection { current.withLock { $0 } }

    private init(connection: PostgresConnection, settings: PostgresSettings, logger: Logger) {
        current = Mutex(connection)
        self.settings = settings
        self.logger = logger
    }

    /// Connects and brings the schema up to date (``ArchiveSchema/migrate(_:logger:)``); each failure is one line.
    public static func open(_ settings: PostgresSettings, logger: Logger) async throws(FraudError) -> ArchiveStore {
        let connection = try await settings.connect(logger: logger)
        let applied: [Int]
        do {
            applied = try await ArchiveSchema.migrate(connection, logger: logger)
        } catch {
            try? await connection.close()
            throw error
        }
        if !applied.isEmpty { logger.info("archive schema migrated", metadata: ["versions": "\(applied)", "schema": "\(ArchiveSchema.version)"]) }
        return ArchiveStore(connection: connection, settings: settings, logger: logger)
    }

    /// Runs `body` with a store opened on `settings` and closes it afterwards, whether `body` returned or threw (a
    /// connection left open trips PostgresNIO's check in debug builds).
    public static func withOpen<T>(
        _ settings: PostgresSettings, logger: Logger, _ body: (ArchiveStore) async throws -> T
    ) async throws -> T {
        let store = try await open(settings, logger: logger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// A new connection when the current one is closed (PostgreSQL restarted or went away).
    public func reconnect() async throws {
        guard connection.isClosed else { return }
        let fresh = try await settings.connect(logger: logger)
        let old = current.withLock { current in
            defer { current = fresh }
            return current
        }
        try? await old.close()
    }

    /// The connection, opened again first when it was closed (a statement sent on a closed connection would wait
    /// for ever).
    func live() async throws -> PostgresConnection {
        if connection.isClosed { try await reconnect() }
        return connection
    }

    /// Closes the connection.
    public func close() async {
        try? await connection.close()
    }

    /// One decision as archived: a results-stream entry, decoded, with the stream it came from.
    public struct Row: Sendable {
        public var stream: String
        public var record: ResultRecord
        /// Every field of the entry as recorded.
        public var fields: [(String, String)]

        /// The decision's time: the results entry id's milliseconds (the same for a redelivered entry, so a replayed
        /// batch meets the rows it already wrote).
        public var decidedMilliseconds: Int64 { Int64(record.id.split(separator: "-").first ?? "") ?? 0 }

        public init(stream: String, record: ResultRecord, fields: [(String, String)]) {
            self.stream = stream
            self.record = record
            self.fields = fields
        }

        /// The entry's fields that have no column of their own (a newer writer's, or an operator's), as a JSON object of
        /// strings (the first of a repeated name), written directly; nil when there are none, as usual.
        var extrasJSON: String? {
            guard record.otherFieldCount > 0 else { return nil }
            var json = ""
            var seen = Set<String>()
            for (name, value) in fields where ResultRecord.Field(rawValue: name) == nil && seen.insert(name).inserted {
                json += json.isEmpty ? "{" : ","
                Self.appendJSONString(name, to: &json)
                json += ":"
                Self.appendJSONString(value, to: &json)
            }
            return json.isEmpty ? nil : json + "}"
        }

        /// The feature vector as a PostgreSQL array literal, from the entry's own text (shortest round-trip decimals
        /// already: formatting each number again cost the archiver more than the rest of a row); nil without one, or
        /// when the text is not a comma-separated list of numbers (a batch must never fail on one entry's text).
        var featuresLiteral: String? {
            guard let text = record.evidence?.featuresText, Self.isNumberList(text) else { return nil }
            return "{" + text + "}"
        }

        /// Whether `text` is one or more numbers separated by commas, each a decimal (`-1`, `2.5`, `.5`, `1e-05`) or
        /// `nan`, `inf`, `infinity` with an optional sign, as PostgreSQL's `float8` reads them. One pass, nothing
        /// allocated: splitting and parsing each value took a quarter of the archiver's time.
        static func isNumberList(_ text: String) -> Bool {
            enum State { case start, sign, integer, point, fraction, bareFraction, exponent, exponentSign, exponentDigits, word }
            var state = State.start
            var word: UInt64 = 0  // the letters of a word element, lower-cased, 8 bits each
            var letters = 0
            func ends(_ state: State) -> Bool {
                switch state {
                case .integer, .point, .fraction, .exponentDigits: return true
                case .word:
                    // "nan", "inf", "infinity"
                    return (letters == 3 && (word == 0x6e_616e || word == 0x69_6e66)) || (letters == 8 && word == 0x696e_6669_6e69_7479)
                default: return false
                }
            }
            for byte in text.utf8 {
                let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
                if byte == UInt8(ascii: ",") {
                    guard ends(state) else { return false }
                    state = .start
                    word = 0
                    letters = 0
                    continue
                }
                switch state {
                case .start where byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+"): state = .sign
                case .start, .sign:
                    if isDigit { state = .integer } else if byte == UInt8(ascii: ".") { state = .bareFraction } else { fallthrough }
                case .word:
                    let lower = byte | 0x20
                    guard lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z"), letters < 8 else { return false }
                    word = word << 8 | UInt64(lower)
                    letters += 1
                    state = .word
                case .integer:
                    if isDigit { break }
                    if byte == UInt8(ascii: ".") { state = .point } else if byte | 0x20 == UInt8(ascii: "e") { state = .exponent } else { return false }
                case .point, .fraction:
                    if isDigit { state = .fraction } else if byte | 0x20 == UInt8(ascii: "e") { state = .exponent } else { return false }
                case .bareFraction:
                    guard isDigit else { return false }
                    state = .fraction
                case .exponent:
                    if isDigit { state = .exponentDigits } else if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") { state = .exponentSign } else { return false }
                case .exponentSign, .exponentDigits:
                    guard isDigit else { return false }
                    state = .exponentDigits
                }
            }
            return ends(state)
        }

        static func appendJSONString(_ text: String, to json: inout String) {
            json += "\""
            // Most values need no escaping: appended whole.
            if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                json += text
                json += "\""
                return
            }
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": json += "\\\""
                case "\\": json += "\\\\"
                case "\n": json += "\\n"
                case "\r": json += "\\r"
                case "\t": json += "\\t"
                // PostgreSQL's text and jsonb hold no NUL: it is kept as U+FFFD.
                case "\u{0}": json += "\u{FFFD}"
                case let control where control.value < 0x20: json += String(format: "\\u%04x", control.value)
                default: json.unicodeScalars.append(scalar)
                }
            }
            json += "\""
        }
    }

    /// UTC day number (days since 1970-01-01) of a time in ms.
    static func day(ofMilliseconds ms: Int64) -> Int { Int((ms >= 0 ? ms : ms - 86_399_999) / 86_400_000) }

    /// `decisions_20261207` for a day number.
    static func partitionName(day: Int) -> String {
        let date = Date(timeIntervalSince1970: Double(day) * 86_400)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "decisions_%04d%02d%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
    }

    /// The day number of a partition's name, nil for another table.
    static func day(ofPartition name: String) -> Int? {
        guard name.hasPrefix("decisions_"), name.count == "decisions_".count + 8 else { return nil }
        let digits = name.dropFirst("decisions_".count)
        guard let year = Int(digits.prefix(4)), let month = Int(digits.dropFirst(4).prefix(2)), let dayOfMonth = Int(digits.suffix(2)) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: dayOfMonth)) else { return nil }
        return Int(date.timeIntervalSince1970 / 86_400)
    }

    /// Makes the daily partitions `days` need (outside a transaction: each is its own short DDL).
    func ensurePartitions(_ days: Set<Int>) async throws {
        let missing = days.subtracting(knownDays.withLock { $0 })
        for day in missing.sorted() {
            let name = Self.partitionName(day: day)
            let from = Self.isoDate(day: day)
            let to = Self.isoDate(day: day + 1)
            do {
                try await live().query(
                    PostgresQuery(unsafeSQL: "CREATE TABLE IF NOT EXISTS \(name) PARTITION OF decisions FOR VALUES FROM ('\(from)') TO ('\(to)')"),
                    logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P07" {
                // Made by another archiver between our check and our statement.
            }
            knownDays.withLock { _ = $0.insert(day) }
        }
    }

    static func isoDate(day: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(day) * 86_400)) + " 00:00:00+00"
    }

    /// The staging table a batch is copied into (one per session, emptied at each commit), in the order
    /// ``copyText(_:)`` writes its columns: times as epoch ms, absent values as NULL.
    static let stagingTable = """
        CREATE TEMP TABLE IF NOT EXISTS decisions_incoming (ms bigint, tid text, stream text, eid text, uid text, run text,
            amount float8, decision text, score float8, fraud bool, reasons text[], mv bigint, ss float8, smv bigint, src text,
            by text, seid text, lat float8, q float8, f float8, s float8, extras jsonb, rv bigint, mid text, cur text,
            card text, cat text, glat float8, glon float8, dev text, ip text, ts bigint, vec float8[]) ON COMMIT DELETE ROWS
        """

    /// From the staging table into the partitioned table; a row already archived (same transaction id and decision
    /// time) is skipped. Answers how many rows were new.
    static let insertStaged = """
        WITH new AS (
            INSERT INTO decisions (decided_at, transaction_id, results_stream, entry_id, user_id, run_id, amount, decision, score,
                is_fraud, reasons, model_version, shadow_score, shadow_model_version, source, decided_by, source_entry_id,
                latency_ms, queue_ms, features_ms, scoring_ms, entry, rules_version, merchant_id, currency, card_provider,
                merchant_category, lat, lon, device_id, ip, event_at, features)
            SELECT to_timestamp(ms / 1000.0), tid, stream, eid, uid, run, amount, decision, score, fraud, reasons, mv, ss, smv, src,
                by, seid, lat, q, f, s, extras, rv, mid, cur, card, cat, glat, glon, dev, ip, to_timestamp(ts / 1000.0), vec
            FROM decisions_incoming
            ON CONFLICT DO NOTHING
            RETURNING 1)
        SELECT count(*) FROM new
        """

    /// Writes decisions in one transaction: `COPY` into the session's staging table, then one `INSERT … SELECT` that
    /// skips rows already archived. Measured against one `INSERT … SELECT FROM unnest(…)` of 33 array parameters, the
    /// copy costs PostgreSQL and the archiver about half as much per row (README, the archive's performance).
    /// Returns how many rows were new.
    @discardableResult
    public func insert(_ rows: [Row]) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        let days = Set(rows.map { Self.day(ofMilliseconds: $0.decidedMilliseconds) })
        try await ensurePartitions(days)
        let text = Self.copyText(rows)
        let connection = try await live()
        func attempt() async throws -> Int {
            try await connection.withTransaction(logger: logger) { transaction in
                try await transaction.copyFrom(table: "decisions_incoming", logger: logger) { writer in try await writer.write(text) }
                var inserted = 0
                for try await count in try await transaction.query(PostgresQuery(unsafeSQL: Self.insertStaged), logger: logger).decode(Int.self) {
                    inserted = count
                }
                return inserted
            }
        }
        // Each thing a batch may find missing is made once, then the batch is tried again.
        var made: Set<String> = []
        while true {
            do {
                return try await attempt()
            } catch where Self.sqlState(of: error) == "42P01" && made.insert("42P01").inserted {
                // A new session (the first batch, or a connection made again): its staging table first.
                try await connection.query(PostgresQuery(unsafeSQL: Self.stagingTable), logger: logger)
            } catch where Self.sqlState(of: error) == "23514" && made.insert("23514").inserted {
                // No partition for a row: one was dropped (retention) since this store made it. Make it again.
                knownDays.withLock { $0.removeAll() }
                try await ensurePartitions(days)
            }
        }
    }

    /// The SQLSTATE of a statement's error, also when a transaction wraps it.
    static func sqlState(of error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = error as? PostgresTransactionError, let inner = error.closureError { return sqlState(of: inner) }
        return nil
    }

    /// The rows in `COPY`'s text format, the staging table's columns in order.
    static func copyText(_ rows: [Row]) -> ByteBuffer {
        var line = CopyLines(buffer: ByteBufferAllocator().buffer(capacity: rows.count * 640))
        for row in rows {
            let record = row.record
            let evidence = record.evidence
            line.number(row.decidedMilliseconds)
            line.text(record.transactionId)
            line.text(row.stream)
            line.text(record.id)
            line.text(record.userId)
            line.text(record.runId)
            line.number(record.amount)
            line.text(record.decision)
            line.number(record.score)
            line.raw(record.isFraud ? "t" : "f")
            line.textArray(record.reasons)
            line.number(Int64(record.modelVersion))
            line.number(record.shadowScore)
            line.number(record.shadowModelVersion.map(Int64.init))
            line.text(record.source.rawValue)
            line.text(record.workerId)
            line.text(record.sourceId)
            line.number(record.latencyMilliseconds)
            line.number(record.queueMilliseconds)
            line.number(record.featuresMilliseconds)
            line.number(record.scoringMilliseconds)
            line.text(row.extrasJSON)
            line.number(record.rulesVersion.map(Int64.init))
            line.text(evidence?.merchantId)
            line.text(evidence?.currency)
            line.text(evidence?.cardProvider)
            line.text(evidence?.merchantCategory)
            line.number(evidence?.lat)
            line.number(evidence?.lon)
            line.text(evidence?.deviceId)
            line.text(evidence?.ip)
            // An event time PostgreSQL's timestamptz holds (0 to year 9999); NULL otherwise, as before the epoch.
            line.number(evidence?.timestampMilliseconds.flatMap { (0..<253_402_300_800_000).contains($0) ? $0 : nil })
            line.text(row.featuresLiteral)
            line.endLine()
        }
        return line.buffer
    }

    /// Lines of `COPY`'s text format: values separated by tabs, `\N` for NULL, and backslash, tab, line feed and
    /// carriage return escaped with a backslash.
    struct CopyLines {
        var buffer: ByteBuffer
        var first = true

        mutating func separate() {
            if first { first = false } else { buffer.writeInteger(UInt8(ascii: "\t")) }
        }

        mutating func null() {
            separate()
            buffer.writeStaticString("\\N")
        }

        mutating func raw(_ text: String) {
            separate()
            buffer.writeString(text)
        }

        mutating func text(_ value: String?) {
            guard let value else { return null() }
            separate()
            Self.escape(value, into: &buffer)
        }

        static func escape(_ value: String, into buffer: inout ByteBuffer) {
            if !value.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == 9 || $0 == 10 || $0 == 13 || $0 == 0 }) {
                buffer.writeString(value)
                return
            }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 9: buffer.writeStaticString("\\t")
                case 10: buffer.writeStaticString("\\n")
                case 13: buffer.writeStaticString("\\r")
                // PostgreSQL's text holds no NUL: it is kept as U+FFFD.
                case 0: buffer.writeString("\u{FFFD}")
                default: buffer.writeInteger(byte)
                }
            }
        }

        mutating func number(_ value: Int64?) {
            guard let value else { return null() }
            raw(String(value))
        }

        /// A double as Swift writes it (shortest round trip, which PostgreSQL reads back exactly), `NaN` and
        /// `±Infinity` as PostgreSQL spells them; NULL for nil.
        mutating func number(_ value: Double?) {
            guard let value else { return null() }
            if value.isNaN { return raw("NaN") }
            if value.isInfinite { return raw(value < 0 ? "-Infinity" : "Infinity") }
            raw(value.description)
        }

        /// A text array literal, each element quoted (`{"a","b"}`), then escaped for `COPY`.
        mutating func textArray(_ values: [String]) {
            var literal = "{"
            for (index, value) in values.enumerated() {
                if index > 0 { literal += "," }
                literal += "\""
                for character in value.unicodeScalars {
                    if character == "\"" || character == "\\" { literal += "\\" }
                    literal.unicodeScalars.append(character)
                }
                literal += "\""
            }
            text(literal + "}")
        }

        mutating func endLine() {
            buffer.writeInteger(UInt8(ascii: "\n"))
            first = true
        }
    }

    /// Drops the daily partitions wholly older than `days` days before `now`; returns their names.
    public func dropPartitions(olderThanDays days: Int, now: Date = Date()) async throws -> [String] {
        let today = Self.day(ofMilliseconds: Int64(now.timeIntervalSince1970 * 1_000))
        var names: [String] = []
        let rows = try await live().query(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relname = 'decisions'
            """, logger: logger)
        for try await name in rows.decode(String.self) { names.append(name) }
        var dropped: [String] = []
        for name in names.sorted() {
            guard let day = Self.day(ofPartition: name), day < today - days else { continue }
            try await live().query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"), logger: logger)
            knownDays.withLock { _ = $0.remove(day) }
            dropped.append(name)
        }
        return dropped
    }

    /// The archived position of a followed stream (an audit or review stream): the last entry id copied, "0" before any.
    func position(of source: String) async throws -> String {
        for try await id in try await live().query("SELECT last_id FROM archive_positions WHERE source = \(source)", logger: logger)
            .decode(String.self)
        {
            return id
        }
        return "0"
    }

    /// Records that `stream` is copied up to `last`, inside the copy's transaction.
    static func movePosition(of stream: String, to last: String, in transaction: PostgresConnection, logger: Logger) async throws {
        try await transaction.query(
            """
            INSERT INTO archive_positions (source, last_id) VALUES (\(stream), \(last))
            ON CONFLICT (source) DO UPDATE SET last_id = excluded.last_id
            """, logger: logger)
    }

    /// Audit entries of one stream and the position after them, in one transaction.
    func insertAudit(_ entries: [StreamEntry], stream: String) async throws {
        guard let last = entries.last?.id else { return }
        let fields = entries.map { entry in Dictionary(entry.fields, uniquingKeysWith: { first, _ in first }) }
        var binds = PostgresBindings(capacity: 8)
        binds.append(stream)
        binds.append(entries.map(\.id))
        binds.append(fields.map { Int64($0["time_ms"] ?? "") ?? 0 })
        binds.append(fields.map { $0["actor"] ?? "" })
        binds.append(fields.map { $0["action"] ?? "" })
        binds.append(fields.map { $0["target"] ?? "" })
        binds.append(fields.map { $0["change"] ?? "" })
        binds.append(fields.map { $0["request_id"] ?? "" })
        try await live().withTransaction(logger: logger) { transaction in
            try await transaction.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO audit_entries (audit_stream, entry_id, at, actor, action, target, change, request_id)
                        SELECT $1, t.id, to_timestamp(t.ms / 1000.0), t.actor, t.action, t.target, t.change, t.rid
                        FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
                            AS t(id, ms, actor, action, target, change, rid)
                        ON CONFLICT DO NOTHING
                        """, binds: binds), logger: logger)
            try await Self.movePosition(of: stream, to: last, in: transaction, logger: logger)
        }
    }

    /// Review-queue entries of one stream and the position after them, in one transaction.
    func insertReviews(_ entries: [StreamEntry], stream: String) async throws {
        guard let last = entries.last?.id else { return }
        let fields = entries.map { entry in Dictionary(entry.fields, uniquingKeysWith: { first, _ in first }) }
        var binds = PostgresBindings(capacity: 10)
        binds.append(stream)
        binds.append(entries.map(\.id))
        binds.append(entries.map { Int64($0.id.split(separator: "-").first ?? "") ?? 0 })
        binds.append(fields.map { $0["transaction_id"] ?? "" })
        binds.append(fields.map { $0["user_id"] ?? "" })
        binds.append(fields.map { $0["run_id"] ?? "" })
        binds.append(fields.map { Double($0["score"] ?? "") ?? 0 })
        binds.append(fields.map { $0["reasons"] ?? "" })
        binds.append(fields.map { Double($0["amount"] ?? "") ?? 0 })
        // A vector as PostgreSQL's array text, `{0.5,1,…}`: only numbers pass.
        binds.append(fields.map { "{" + ($0["features"] ?? "").split(separator: ",").compactMap { Double($0).map { "\($0)" } }.joined(separator: ",") + "}" })
        try await live().withTransaction(logger: logger) { transaction in
            try await transaction.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO reviews (review_stream, entry_id, queued_at, transaction_id, user_id, run_id, score, reasons, amount, features)
                        SELECT $1, t.id, to_timestamp(t.ms / 1000.0), t.tid, t.uid, t.run, t.score,
                            CASE WHEN t.reasons = '' THEN '{}'::text[] ELSE string_to_array(t.reasons, ',') END, t.amount, t.features::float8[]
                        FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[], $9::float8[], $10::text[])
                            AS t(id, ms, tid, uid, run, score, reasons, amount, features)
                        ON CONFLICT DO NOTHING
                        """, binds: binds), logger: logger)
            try await Self.movePosition(of: stream, to: last, in: transaction, logger: logger)
        }
    }

    /// Labels as they are now (a later label replaces an earlier one, as in Redis).
    func upsertLabels(_ labels: [(transactionId: String, fraud: Bool)], source: String) async throws {
        guard !labels.isEmpty else { return }
        var binds = PostgresBindings(capacity: 3)
        binds.append(labels.map(\.transactionId))
        binds.append(labels.map(\.fraud))
        binds.append(source)
        try await live().query(
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO labels (transaction_id, is_fraud, source) SELECT t.id, t.fraud, $3 FROM unnest($1::text[], $2::bool[]) AS t(id, fraud)
                    ON CONFLICT (transaction_id) DO UPDATE SET is_fraud = excluded.is_fraud, archived_at = now()
                    WHERE labels.is_fraud IS DISTINCT FROM excluded.is_fraud
                    """, binds: binds), logger: logger)
    }

    // MARK: Queries

    /// Rows of a query whose only column is `row_to_json(...)::text`, as JSON objects.
    func jsonRows(_ query: PostgresQuery) async throws -> [[String: Any]] {
        var objects: [[String: Any]] = []
        for try await text in try await live().query(query, logger: logger).decode(String.self) {
            if let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] { objects.append(object) }
        }
        return objects
    }

    /// Everything archived about one transaction: its decisions (one, unless the id was reused past the idempotency
    /// retention), its label, and the audit entries that name it (reviews resolved, labels given).
    /// `from` and `to` bound the decision time, so only those days' partitions are read.
    public func show(_ transactionId: String, from: Date? = nil, to: Date? = nil) async throws -> (
        decisions: [[String: Any]], label: [String: Any]?, audit: [[String: Any]], reviews: [[String: Any]]
    ) {
        let lower = from ?? Date(timeIntervalSince1970: 0)
        let upper = to ?? Date(timeIntervalSince1970: 32_503_680_000)
        let decisions = try await jsonRows(
            """
            SELECT row_to_json(d)::text FROM (SELECT * FROM decisions WHERE transaction_id = \(transactionId)
                AND decided_at >= \(lower) AND decided_at < \(upper) ORDER BY decided_at) d
            """)
        let label = try await jsonRows("SELECT row_to_json(l)::text FROM labels l WHERE transaction_id = \(transactionId)").first
        let audit = try await jsonRows(
            "SELECT row_to_json(a)::text FROM (SELECT * FROM audit_entries WHERE target = \(transactionId) ORDER BY at) a")
        let reviews = try await jsonRows(
            "SELECT row_to_json(r)::text FROM (SELECT * FROM reviews WHERE transaction_id = \(transactionId) ORDER BY queued_at) r")
        return (decisions, label, audit, reviews)
    }

    /// What `archive search` filters on.
    public struct Filter: Sendable {
        public var user: String?
        public var from: Date?
        public var to: Date?
        public var decision: String?
        public var reason: String?
        public var modelVersion: Int?
        public var limit = 100

        public init() {}
    }

    /// The SQL of a filter: its `WHERE` clause and binds (shared by search and export).
    /// `table` qualifies the columns (`d.` in a join).
    static func whereClause(_ filter: Filter, table: String = "") throws -> (String, PostgresBindings) {
        var conditions: [String] = []
        var binds = PostgresBindings()
        func add(_ condition: (Int) -> String, _ bind: (inout PostgresBindings) throws -> Void) rethrows {
            try bind(&binds)
            conditions.append(condition(binds.count))
        }
        if let user = filter.user { add({ "\(table)user_id = $\($0)" }, { $0.append(user) }) }
        if let from = filter.from { add({ "\(table)decided_at >= $\($0)" }, { $0.append(from) }) }
        if let to = filter.to { add({ "\(table)decided_at < $\($0)" }, { $0.append(to) }) }
        if let decision = filter.decision { add({ "\(table)decision = $\($0)" }, { $0.append(decision) }) }
        // `reasons <> '{}'` lets PostgreSQL use the GIN index, which covers only decisions with reasons.
        if let reason = filter.reason { add({ "\(table)reasons @> ARRAY[$\($0)::text] AND \(table)reasons <> '{}'" }, { $0.append(reason) }) }
        if let modelVersion = filter.modelVersion { add({ "\(table)model_version = $\($0)" }, { $0.append(Int64(modelVersion)) }) }
        return (conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "), binds)
    }

    /// Decisions matching `filter`, newest first, at most `filter.limit`.
    public func search(_ filter: Filter) async throws -> [[String: Any]] {
        let (condition, binds) = try Self.whereClause(filter)
        return try await jsonRows(PostgresQuery(
            unsafeSQL: """
                SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons,
                    model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions \(condition)
                    ORDER BY decided_at DESC LIMIT \(max(1, filter.limit))) d
                """, binds: binds))
    }

    /// The columns `archive export` writes, in order.
    public static let exportColumns = [
        "decided_at", "transaction_id", "user_id", "run_id", "amount", "decision", "score", "is_fraud", "reasons", "model_version",
        "shadow_score", "shadow_model_version", "source", "decided_by", "latency_ms", "label", "rules_version", "merchant_id",
        "currency", "card_provider", "merchant_category", "lat", "lon", "device_id", "ip", "event_at", "features",
    ]

    /// Writes decisions matching `filter` (every one, `limit` ignored) as CSV rows to `write`, oldest first, with
    /// their label when one is archived (`1` fraud, `0` legit, empty unknown). Returns the row count.
    public func export(_ filter: Filter, write: (String) throws -> Void) async throws -> Int {
        let (condition, binds) = try Self.whereClause(filter, table: "d.")
        let sql = """
            SELECT to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), d.transaction_id, d.user_id, d.run_id,
                d.amount::text, d.decision, d.score::text, CASE WHEN d.is_fraud THEN '1' ELSE '0' END, array_to_string(d.reasons, ','),
                d.model_version::text, coalesce(d.shadow_score::text, ''), coalesce(d.shadow_model_version::text, ''), d.source,
                d.decided_by, d.latency_ms::text, CASE WHEN l.is_fraud IS NULL THEN '' WHEN l.is_fraud THEN '1' ELSE '0' END,
                coalesce(d.rules_version::text, ''), coalesce(d.merchant_id, ''), coalesce(d.currency, ''), coalesce(d.card_provider, ''),
                coalesce(d.merchant_category, ''), coalesce(d.lat::text, ''), coalesce(d.lon::text, ''), coalesce(d.device_id, ''),
                coalesce(d.ip, ''),
                coalesce(to_char(d.event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), ''),
                coalesce(array_to_string(d.features, ';'), '')
            FROM decisions d LEFT JOIN labels l ON l.transaction_id = d.transaction_id
            \(condition)
            ORDER BY d.decided_at
            """
        try write(Self.exportColumns.joined(separator: ",") + "\n")
        var count = 0
        let rows = try await live().query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        for try await row in rows {
            var fields: [String] = []
            for cell in row { fields.append(Self.csvField((try? cell.decode(String.self)) ?? "")) }
            try write(fields.joined(separator: ",") + "\n")
            count += 1
        }
        return count
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
    static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The archived decisions with a label and a stored vector: each transaction's latest vector (the built-in features,
    /// the first `width` values), from its review entry or from a decision archived with the full evidence, and its
    /// label, for `prepare --retrain --from-archive`.
    public func labelledDecisions(width: Int) async throws -> [(features: [Double], fraud: Bool, transactionId: String)] {
        var rows: [(features: [Double], fraud: Bool, transactionId: String)] = []
        let query: PostgresQuery = """
            SELECT DISTINCT ON (v.transaction_id) v.transaction_id, v.features, l.is_fraud
            FROM (
                SELECT transaction_id, features, queued_at AS at FROM reviews
                UNION ALL
                SELECT transaction_id, features, decided_at FROM decisions WHERE features IS NOT NULL
            ) v JOIN labels l ON l.transaction_id = v.transaction_id
            ORDER BY v.transaction_id, v.at DESC
            """
        for try await (id, features, fraud) in try await live().query(query, logger: logger).decode((String, [Double], Bool).self)
        where features.count >= width {
            rows.append((Array(features.prefix(width)), fraud, id))
        }
        return rows
    }

    /// How many decisions are archived.
    public func count() async throws -> Int {
        for try await count in try await live().query("SELECT count(*) FROM decisions", logger: logger).decode(Int.self) { return count }
        return 0
    }
}
