import Foundation
import RedisClient
import Synchronization

/// The audit log: who changed what, when. Each change appends an entry in the same atomic call (`MULTI`/`EXEC` or
/// Function) as the change, to an audit stream in the changed keys' hash slot, `<ns>:audit:{<tag>}`, so it works on a
/// Redis Cluster too; `fraudstream audit list` merges every audit stream of the namespace by time.
///
/// Entries are trimmed by age, never by count: each append drops entries older than the retention (`MINID`, default
/// 400 days; PCI DSS keeps audit trails for a year).
public struct AuditLog: Sendable {
    public let namespace: String
    /// How long entries are kept.
    public var retentionDays: Int

    /// Kept for 400 days unless `AUDIT_RETENTION_DAYS` says otherwise (``configureRetention(from:)``).
    public static var defaultRetentionDays: Int { configuredRetentionDays.load(ordering: .relaxed) }

    /// The retention every audit append of this process uses.
    private static let configuredRetentionDays = Atomic<Int>(400)

    /// The setting's name.
    public static let retentionSetting = "AUDIT_RETENTION_DAYS"

    /// Reads `AUDIT_RETENTION_DAYS` from `environment` (whole days, 1 to 36,500) for every audit append of this
    /// process; an invalid value is one readable error.
    public static func configureRetention(from environment: [String: String]) throws(FraudError) {
        guard let text = environment[retentionSetting], !text.isEmpty else { return }
        guard let days = Int(text.trimmingCharacters(in: .whitespaces)), (1...36_500).contains(days) else {
            throw FraudError(.invalidSetting, "\(retentionSetting) must be a whole number of days from 1 to 36500, not '\(text)'")
        }
        configuredRetentionDays.store(days, ordering: .relaxed)
    }

    public init(namespace: String, retentionDays: Int = AuditLog.defaultRetentionDays) {
        self.namespace = namespace
        self.retentionDays = retentionDays
    }

    /// The audit stream in the hash slot of `tag`.
    public func stream(tag: String) -> String { "\(namespace):audit:{\(tag)}" }

    /// One change.
    public struct Entry: Sendable, Equatable {
        /// `cli:<os user>@<host>`, an API key's name (`key:<name>`), or a token's subject.
        public var actor: String
        /// `<family>.<verb>`: `apikeys.create`, `blocklist.remove`, …
        public var action: String
        /// What was changed: a key name, an IP, a version.
        public var target: String
        /// Before → after, in words.
        public var change: String
        /// Ties the entry to a request or command run.
        public var requestId: String
        /// When, ms (filled in when read).
        public var timeMilliseconds: Int64 = 0
        /// When, µs: orders entries of different streams written within one millisecond (filled in when read).
        var timeMicroseconds: Int64 = 0
        /// The stream entry id (when read).
        public var id: String = ""

        public init(actor: String, action: String, target: String, change: String, requestId: String = AuditLog.requestId) {
            self.actor = actor
            self.action = action
            self.target = target
            self.change = change
            self.requestId = requestId
        }

        /// `XADD <stream> MINID ~ <now − retention> * …` for this entry.
        public func command(stream: String, namespace: String, retentionDays: Int = AuditLog.defaultRetentionDays) -> RedisCommand {
            let stamp = Stamp(retentionDays: retentionDays)
            return RedisCommand(
                "XADD", stream, "MINID", "~", stamp.minimumId, "*", "actor", actor, "action", action, "target", target, "change", change,
                "request_id", requestId, "time_ms", stamp.milliseconds, "time_us", stamp.microseconds)
        }

        public var jsonObject: [String: Any] {
            ["id": id, "time_ms": timeMilliseconds, "actor": actor, "action": action, "target": target, "change": change, "request_id": requestId]
        }
    }

    /// The request an entry belongs to: an HTTP request's id (``withRequestId(_:operation:)``, bound by the server for
    /// each request), else this process's run id, so every entry of one command run shares one id.
    public static var requestId: String { boundRequestId ?? runId }

    /// One id per process: a command run.
    public static let runId = "run-" + UUID().uuidString.lowercased()

    @TaskLocal static var boundRequestId: String?

    /// Runs `operation` with `id` as the request id of every audit entry it appends.
    public static func withRequestId<T: Sendable>(_ id: String, operation: () async throws -> T) async rethrows -> T {
        try await $boundRequestId.withValue(id, operation: operation)
    }

    /// When an entry is appended: its time in ms and µs, and the oldest stream id the retention keeps (`MINID`).
    public struct Stamp: Sendable {
        public let microseconds: Int64
        public var milliseconds: Int64 { microseconds / 1_000 }
        public let minimumId: Int64

        public init(retentionDays: Int, now: Date = Date()) {
            microseconds = Int64(now.timeIntervalSince1970 * 1_000_000)
            minimumId = max(0, microseconds / 1_000 - Int64(retentionDays) * 86_400_000)
        }
    }

    /// The actor of a command run from this machine: `cli:<os user>@<host>`.
    public static var commandLineActor: String {
        let account = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
        let user = ProcessInfo.processInfo.environment["USER"] ?? account ?? String(getuid())
        return "cli:\(user)@\(ProcessInfo.processInfo.hostName)"
    }

    /// Runs `change` and appends `entry` to the audit stream in the slot of `key` (the key the change writes), in one
    /// `MULTI`/`EXEC`; returns the change's replies (an error reply of one of them is returned, not thrown).
    public func recording(
        _ change: [RedisCommand], entry: Entry, key: String, on connection: RedisConnection
    ) async throws(RedisError) -> [RESPValue] {
        let replies = try await connection.pipeline(
            [RedisCommand("MULTI")] + change + [entry.command(stream: stream(tag: key), namespace: namespace, retentionDays: retentionDays), RedisCommand("EXEC")])
        guard case .array(let results) = try replies[replies.count - 1].get(), results.count == change.count + 1 else {
            throw RedisError(code: .unexpectedReply, message: "the audited change was not applied: \(replies[replies.count - 1])")
        }
        return Array(results.prefix(change.count))
    }

    /// Appends `entry` alone, to the audit stream in the slot of `key` (for a change whose outcome is known only after it).
    public func append(_ entry: Entry, key: String, on connection: RedisConnection) async throws(RedisError) {
        _ = try await connection.send(entry.command(stream: stream(tag: key), namespace: namespace, retentionDays: retentionDays)).get()
    }

    /// Every entry of the namespace's audit streams since `since` (ms), oldest first, optionally only one actor's or
    /// one action's (an action family matches as a prefix: `blocklist` matches `blocklist.add`).
    public func list(sinceMilliseconds: Int64 = 0, actor: String? = nil, action: String? = nil, on connection: RedisConnection) async throws -> [Entry] {
        let streams = try await Keyspace(namespace: namespace).keys(matching: "\(namespace):audit:{*}", on: connection)
        var entries: [Entry] = []
        for stream in streams {
            let reply = try await connection.send(RedisCommand("XRANGE", stream, String(max(0, sinceMilliseconds)), "+"))
            for item in reply.array ?? [] {
                guard let parts = item.array, parts.count == 2, let id = parts[0].string, let fields = parts[1].stringPairs else { continue }
                var entry = Entry(
                    actor: fields["actor"] ?? "", action: fields["action"] ?? "", target: fields["target"] ?? "", change: fields["change"] ?? "",
                    requestId: fields["request_id"] ?? "")
                entry.id = id
                entry.timeMilliseconds = Int64(fields["time_ms"] ?? "") ?? Int64(id.split(separator: "-").first ?? "") ?? 0
                entry.timeMicroseconds = Int64(fields["time_us"] ?? "") ?? entry.timeMilliseconds * 1_000
                if let actor, entry.actor != actor { continue }
                if let action, entry.action != action && !entry.action.hasPrefix(action + ".") { continue }
                entries.append(entry)
            }
        }
        return entries.sorted { ($0.timeMicroseconds, $0.id) < ($1.timeMicroseconds, $1.id) }
    }
}
