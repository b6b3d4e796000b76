import Foundation
import RedisClient

/// Checks whether a Redis server can host FraudStream, one finding per line.
public struct RedisDoctor: Sendable {
    /// How serious a finding is.
    public enum Severity: String, Sendable {
        case ok, warn, fail
    }

    /// One checked property of the server.
    public struct Finding: Sendable, Equatable {
        /// How serious it is.
        public var severity: Severity
        /// What was checked (`version`, `round-trip`, …).
        public var check: String
        /// What was found, for people.
        public var detail: String
    }

    /// Every finding, and whether the server is usable.
    public struct Report: Sendable {
        /// Findings in check order.
        public var findings: [Finding]
        /// `false` when any finding failed.
        public var isUsable: Bool { !findings.contains { $0.severity == .fail } }
        /// The finding for a check, if made.
        public func finding(_ check: String) -> Finding? { findings.first { $0.check == check } }
    }

    /// The oldest Redis with Functions (`FUNCTION LOAD`, `FCALL`) and `XAUTOCLAIM` … `JUSTID` semantics we rely on.
    public static let minimumVersion = (major: 7, minor: 0)

    /// Whether the examination also loads (replaces) FraudStream's Functions libraries, proving the
    /// server accepts them; off by default, since it changes the server.
    public var loadsFunctions: Bool

    /// The namespace whose security posture is reported (its API keys, its audit log).
    public var namespace: String?

    /// The pseudonymization the processes are run with (`--pseudonymize`), to report it.
    public var pseudonymizer: Pseudonymizer?

    /// Creates a doctor.
    public init(loadsFunctions: Bool = false, namespace: String? = nil, pseudonymizer: Pseudonymizer? = nil) {
        self.loadsFunctions = loadsFunctions
        self.namespace = namespace
        self.pseudonymizer = pseudonymizer
    }

    /// Examines the server behind `connection`.
    public func examine(_ connection: RedisConnection) async throws(RedisError) -> Report {
        var findings: [Finding] = []

        let info = try await connection.send(RedisCommand("INFO", "server")).string ?? ""
        findings.append(Self.versionFinding(info: info))

        let clock = ContinuousClock()
        var samples: [Duration] = []
        for _ in 0..<21 {
            let start = clock.now
            try await connection.send(RedisCommand("PING"))
            samples.append(clock.now - start)
        }
        samples.sort()
        let medianMicroseconds = Double(samples[samples.count / 2].microseconds)
        let rtt = String(format2: medianMicroseconds / 1000)
        findings.append(Finding(
            severity: medianMicroseconds > 2_000 ? .warn : .ok, check: "round-trip",
            detail: "median PING round trip \(rtt) ms over 21 pings"
                + (medianMicroseconds > 2_000 ? " (slow for a payment authorization budget)" : "")))

        switch try await configValue("maxmemory-policy", connection) {
        case .some("noeviction"):
            findings.append(Finding(severity: .ok, check: "maxmemory-policy", detail: "noeviction: streams are never evicted"))
        case .some(let policy):
            findings.append(Finding(
                severity: .warn, check: "maxmemory-policy",
                detail: "\(policy): under memory pressure Redis may evict streams and lose transactions; use noeviction"))
        case .none:
            findings.append(Finding(severity: .warn, check: "maxmemory-policy", detail: "unknown (CONFIG GET is not allowed)"))
        }

        let appendOnly = try await configValue("appendonly", connection)
        let save = try await configValue("save", connection)
        if appendOnly == nil && save == nil {
            findings.append(Finding(severity: .warn, check: "persistence", detail: "unknown (CONFIG GET is not allowed)"))
        } else {
            let savePart = (save ?? "").isEmpty ? "save off" : "save '\(save!)'"
            let durable = appendOnly == "yes" || !(save ?? "").isEmpty
            findings.append(Finding(
                severity: durable ? .ok : .warn, check: "persistence",
                detail: "appendonly \(appendOnly ?? "?"), \(savePart)"
                    + (durable ? "" : ": a restart loses queued transactions and feature state")))
        }

        if connection.configuration.password != nil {
            let user = (try? await connection.send(RedisCommand("ACL", "WHOAMI")).string) ?? "default"
            findings.append(Finding(severity: .ok, check: "auth", detail: "on (authenticated as \(user))"))
        } else {
            findings.append(Finding(
                severity: .warn, check: "auth",
                detail: "off: anyone who reaches this port can read and write transactions"))
        }

        if let tls = connection.configuration.tls {
            let trust = tls.caFile.map { "server certificate verified against \($0)" } ?? "server certificate verified against the system's trust roots"
            let client = tls.certificateFile != nil ? ", client certificate \(tls.certificateFile!)" : ""
            findings.append(Finding(severity: .ok, check: "tls", detail: "on (rediss://: \(trust)\(client))"))
        } else if case .unix = connection.configuration.endpoint {
            findings.append(Finding(severity: .ok, check: "tls", detail: "off: a Unix socket does not leave this machine"))
        } else {
            findings.append(Finding(
                severity: .warn, check: "tls",
                detail: "off: traffic to Redis is not encrypted; use rediss:// with --redis-ca, or keep Redis on a private network"))
        }
        if let namespace {
            findings.append(contentsOf: try await securityFindings(namespace: namespace, connection))
        }

        if await connection.isCluster {
            findings.append(contentsOf: try await clusterFindings(connection))
        }

        if loadsFunctions {
            findings.append(try await loadFunctions(connection))
        }
        return Report(findings: findings)
    }

    /// The namespace's API keys and audit log.
    func securityFindings(namespace: String, _ connection: RedisConnection) async throws(RedisError) -> [Finding] {
        let keys = try await connection.send(RedisCommand("HLEN", APIKeyStore(namespace: namespace).keysKey)).int ?? 0
        let audit = (try? await AuditLog(namespace: namespace).list(on: connection).count) ?? 0
        return [
            Finding(
                severity: keys == 0 ? .warn : .ok, check: "api-keys",
                detail: keys == 0
                    ? "none under '\(namespace)': serve refuses every request but the health checks (fraudstream apikeys create), unless run with --auth off"
                    : "\(keys) under '\(namespace)' (fraudstream apikeys list); serve requires them unless run with --auth off"),
            Finding(severity: .ok, check: "audit-log", detail: "\(audit) entries under '\(namespace)' (fraudstream audit list)"),
            try await serveFinding(namespace: namespace, connection),
            try await archiveFinding(namespace: namespace, connection),
            pseudonymizer.map { Finding(severity: .ok, check: "pseudonymization", detail: "on: \($0.summary) (run every process with the same --pseudonymize and key)") }
                ?? Finding(
                    severity: .warn, check: "pseudonymization",
                    detail: "off: identifiers are stored as given (--pseudonymize user_id,device_id,ip with FRAUD_ID_KEY_FILE replaces them by a keyed HMAC)"),
        ]
    }

    /// How the running `serve` processes of the namespace are exposed (``ServerRegistry``): a warning when one runs
    /// with `--auth off` or plain HTTP.
    func serveFinding(namespace: String, _ connection: RedisConnection) async throws(RedisError) -> Finding {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let servers = try await ServerRegistry(namespace: namespace).list(on: connection)
        let running = servers.filter { now - $0.seenMilliseconds < ServerRegistry.staleMilliseconds }
        guard !running.isEmpty else {
            return Finding(
                severity: .ok, check: "serve",
                detail: "no scoring API running under '\(namespace)'" + (servers.isEmpty ? "" : " (\(servers.count) stopped without saying so)"))
        }
        let exposed = running.contains { $0.auth == "off" || !$0.https }
        return Finding(
            severity: exposed ? .warn : .ok, check: "serve",
            detail: running.map { "\($0.serverId) at \($0.address): \($0.summary)" }.joined(separator: "; ")
                + (running.contains { $0.auth == "off" } ? " (--auth off: anyone who reaches it can score and change the blocklist)" : ""))
    }

    /// Whether `fraudstream archive run` follows the namespace's results streams, and how far behind it is (a warning past
    /// 100,000 entries: the stream is held for it, up to its bound).
    func archiveFinding(namespace: String, _ connection: RedisConnection) async throws(RedisError) -> Finding {
        var streams = ["\(namespace):results"]
        streams += (try? await Keyspace(namespace: namespace).keys(matching: "\(namespace):results:{*}", on: connection)) ?? []
        var lags: [(String, Int)] = []
        for stream in Set(streams).sorted() {
            if let backlog = try? await GroupBacklog.measure(stream: stream, group: "archive", on: connection) {
                lags.append((stream, backlog.undelivered + backlog.pending))
            }
        }
        guard !lags.isEmpty else {
            return Finding(severity: .ok, check: "archive", detail: "no archive follows the results (fraudstream archive run keeps every decision in PostgreSQL)")
        }
        let total = lags.map(\.1).reduce(0, +)
        return Finding(
            severity: total > 100_000 ? .warn : .ok, check: "archive",
            detail: "lag \(total) entries (" + lags.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
                + (total > 100_000 ? "; the results are held for it up to its --hold-max-entries" : ""))
    }

    /// The cluster's shape (primaries, their slots and replicas), a warning per primary without a replica (its
    /// failure loses its slots until it is back), and whether every slot is served.
    func clusterFindings(_ connection: RedisConnection) async throws(RedisError) -> [Finding] {
        let shape = try await connection.clusterShape()
        var findings: [Finding] = []
        let slots = shape.map(\.slots).reduce(0, +)
        let replicas = shape.map(\.replicas.count).reduce(0, +)
        findings.append(Finding(
            severity: slots == HashSlot.count ? .ok : .fail, check: "cluster",
            detail: "Redis Cluster: \(shape.count) primaries, \(replicas) replicas, \(slots) of \(HashSlot.count) slots served"
                + (slots == HashSlot.count ? "" : " (the cluster is incomplete: commands for the rest fail)")))
        for primary in shape {
            findings.append(Finding(
                severity: primary.replicas.isEmpty ? .warn : .ok, check: "cluster-node",
                detail: "primary \(primary.primary): \(primary.slots) slots, "
                    + (primary.replicas.isEmpty
                        ? "no replica: if it fails, its slots are down until it is back"
                        : "replicas \(primary.replicas.joined(separator: ", "))")))
        }
        return findings
    }

    /// The oldest Valkey FraudStream supports (every Valkey has Functions and `XAUTOCLAIM`; 8.x is what is tested).
    public static let minimumValkeyVersion = (major: 7, minor: 2)

    /// The `version` finding for an `INFO server` reply: the server's name and version (Valkey says `server_name:valkey`
    /// and `valkey_version`, beside a `redis_version` of 7.2.4 it reports for compatibility), and `fail` below the
    /// family's minimum or when the version is missing.
    static func versionFinding(info: String) -> Finding {
        let isValkey = infoField("server_name", in: info) == "valkey" || infoField("valkey_version", in: info) != nil
        let name = isValkey ? "Valkey" : "Redis"
        let version = (isValkey ? infoField("valkey_version", in: info) : nil) ?? infoField("redis_version", in: info) ?? "unknown"
        let parts = version.split(separator: ".").compactMap { Int($0) }
        let major = parts.first ?? 0
        let minor = parts.count > 1 ? parts[1] : 0
        let minimum = isValkey ? minimumValkeyVersion : minimumVersion
        if (major, minor) >= minimum {
            let tested = isValkey ? "tested on Valkey 8.1 (make test-valkey)" : "tested on Redis 7.0 (make test)"
            return Finding(severity: .ok, check: "version", detail: "\(name) \(version): Functions and XAUTOCLAIM available; \(tested)")
        }
        return Finding(
            severity: .fail, check: "version",
            detail: "\(name) \(version) is too old: FraudStream needs \(isValkey ? "Valkey" : "Redis") \(minimum.major).\(minimum.minor) or later for Functions and XAUTOCLAIM")
    }

    private func loadFunctions(_ connection: RedisConnection) async throws(RedisError) -> Finding {
        do {
            for library in FunctionLibrary.all { try await library.load(on: connection) }
        } catch where error.code == .serverError {
            return Finding(severity: .fail, check: "functions", detail: "FUNCTION LOAD failed: \(error.message)")
        }
        let names = FunctionLibrary.all.map(\.name).joined(separator: ", ")
        return Finding(severity: .ok, check: "functions", detail: "loaded \(names)")
    }

    private func configValue(_ name: String, _ connection: RedisConnection) async throws(RedisError) -> String? {
        do {
            let reply = try await connection.send(RedisCommand("CONFIG", "GET", name))
            guard let elements = reply.array, elements.count == 2 else { return nil }
            return elements[1].string
        } catch where error.code == .serverError {
            return nil
        }
    }

    static func infoField(_ name: String, in info: String) -> String? {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
            return String(line.dropFirst(name.count + 1))
        }
        return nil
    }
}
