import Foundation
import FraudServer
import Logging
import RedisClient
import RedisHarness
import Synchronization
import Testing

@testable import FraudCore

/// A real `fraudstream serve` (in process, on a free port) against a real redis-server prepared like the
/// worker tests' (functions, 20 profiles, blocklist with 6.6.6.6, a tiny model promoted).
struct ScoringAPIHarness {
    let redisHarness: WorkerHarness
    let assembly: ScoringServer.Assembly
    let port: Int
    let running: Task<Void, any Error>
    /// A key with every scope, which ``connect()`` sends.
    let apiKey: String

    /// Shuts the server down gracefully and waits until every service has finished (decisions recorded,
    /// statistics flushed).
    func shutDown() async throws {
        await assembly.group.triggerGracefulShutdown()
        try await running.value
    }

    var redis: RedisConnection { redisHarness.redis }
    var admission: RequestAdmission { assembly.admission }

    /// A new keep-alive connection to the server, sending the harness's key (every scope) with each request.
    func connect() async throws -> HTTPConnection {
        try await connect(key: apiKey)
    }

    /// A new keep-alive connection sending `key` (nil: no `Authorization` header).
    func connect(key: String?) async throws -> HTTPConnection {
        try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Starts Redis and the server, runs `body`, then shuts the server down gracefully (and fails the test
    /// when that shutdown fails).
    static func with<T>(
        configure: (inout ServeConfiguration) -> Void = { _ in }, _ body: (ScoringAPIHarness) async throws -> T
    ) async throws -> T {
        try await WorkerHarness.with { redisHarness in
            var configuration = ServeConfiguration()
            configuration.port = 0
            configuration.serverId = "api-test"
            configuration.modelCheckMilliseconds = 100
            // Generous, so a loaded test machine never turns an answer degraded; the deadline tests set their own.
            configuration.deadlineMilliseconds = 20_000
            // Likewise for one Redis call: at the default 1 s a stalled machine turns a call into a reconnect.
            configuration.redisTimeoutMilliseconds = 10_000
            configuration.shutdownTimeoutMilliseconds = 60_000
            configure(&configuration)
            let (_, apiKey) = try await APIKeyStore(namespace: configuration.namespace).create(
                name: "test-all", scopes: Set(APIScope.allCases), actor: "cli:test@harness", on: redisHarness.redis)
            let listening = Mutex<Int?>(nil)
            let server = ScoringServer(configuration: configuration, redis: redisHarness.server.configuration, logger: Logger(label: "test.serve"))
            let assembly = try await server.assemble(signals: []) { port in listening.withLock { $0 = port } }
            let running = Task { try await assembly.group.run() }
            do {
                try await waitUntil("the server listens") { listening.withLock { $0 } != nil }
                let harness = ScoringAPIHarness(
                    redisHarness: redisHarness, assembly: assembly, port: listening.withLock { $0 } ?? 0, running: running, apiKey: apiKey)
                let result = try await body(harness)
                try await harness.shutDown()
                return result
            } catch {
                await assembly.group.triggerGracefulShutdown()
                _ = try? await running.value
                throw error
            }
        }
    }

    /// A transaction body for user `u<user>` (profiles exist for u0…u19).
    static func transaction(
        _ id: String, user: Int = 1, amount: Double = 42.5, device: String? = "d1", ip: String? = "10.0.0.1", run: String? = "api-run",
        extra: String = ""
    ) -> String {
        var fields = [
            "\"transaction_id\": \"\(id)\"", "\"user_id\": \"u\(user)\"", "\"amount\": \(amount)", "\"merchant_id\": \"m1\"",
            "\"lat\": 40.5", "\"lon\": -74.1", "\"card_provider\": \"VISA\"", "\"merchant_category\": \"retail\"",
        ]
        if let device { fields.append("\"device_id\": \"\(device)\"") }
        if let ip { fields.append("\"ip\": \"\(ip)\"") }
        if let run { fields.append("\"run_id\": \"\(run)\"") }
        if !extra.isEmpty { fields.append(extra) }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// A JSON body as a dictionary.
    static func object(_ reply: HTTPConnection.Reply) throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(reply.body))
        return try #require(value as? [String: Any], "not a JSON object: \(reply.text)")
    }

    /// Entries of the results stream.
    func results(stream: String = "fraud:results") async throws -> [[String: String]] {
        let reply = try await redis.send(RedisCommand("XRANGE", stream, "-", "+"))
        return (reply.array ?? []).compactMap { entry -> [String: String]? in
            guard let fields = entry.array?.last?.array else { return nil }
            var map: [String: String] = [:]
            var index = 0
            while index + 1 < fields.count {
                map[fields[index].string ?? ""] = fields[index + 1].string ?? ""
                index += 2
            }
            return map
        }
    }
}
