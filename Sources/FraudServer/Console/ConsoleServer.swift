import FraudCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Mustache
import NIOSSL
import RedisClient
import ServiceLifecycle

/// One of a user's recent decisions, as the decision page lists them.
public struct ConsoleHistoryRow: Sendable {
    public var transactionId: String
    public var decision: String
    public var score: Double
    public var amount: Double
    public var reasons: [String]

    public init(transactionId: String, decision: String, score: Double, amount: Double, reasons: [String]) {
        self.transactionId = transactionId
        self.decision = decision
        self.score = score
        self.amount = amount
        self.reasons = reasons
    }
}

/// What `fraudstream console` runs with.
public struct ConsoleConfiguration: Sendable {
    public var namespace = StreamNames.defaultNamespace
    /// The streams (every partition's review queue and results).
    public var streams = StreamNames()
    public var host = "127.0.0.1"
    public var port = 8090
    /// Signs session cookies and CSRF tokens.
    public var signer = ConsoleSessionSigner.random()
    /// IPs are stored as their pseudonym when the workers pseudonymize `ip`.
    public var pseudonymizer: Pseudonymizer?
    /// HTTPS (cookies are then `Secure`).
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Most results read (per partition, newest first) for a user's recent decisions, or a decision that is not a review.
    public var resultsScanLimit = 2_000
    /// A user's recent decisions from the decision archive (PostgreSQL), when the console has one; else from the
    /// newest results.
    public var archivedHistory: (@Sendable (_ user: String, _ limit: Int) async throws -> [ConsoleHistoryRow])?

    public init() {}
}

/// The analyst console: a web application on Hummingbird, pages rendered on the server from Mustache templates, a
/// little plain JavaScript for keyboard shortcuts. A separate process from `serve`, so the scoring API keeps its one
/// job, its bearer-key authentication and its latency, and the console its cookies, forms and slower pages.
///
/// Sign-in takes an API key of the `read` or `admin` scope (the same keys `apikeys create` makes); the session is a
/// signed cookie (`HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS) naming the key, checked against the current keys
/// on every request (a revoked key ends its sessions). Every form carries the session's CSRF token, and a `POST` without
/// it is refused with 403. Labels and blocklist changes need `admin`; they are audited with the actor `console:<key>`.
public struct ConsoleServer: Sendable {
    let configuration: ConsoleConfiguration
    let redis: RedisConfiguration
    let logger: Logger

    public init(configuration: ConsoleConfiguration, redis: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        self.logger = logger
    }

    /// The application, listening once run; `onListening` gets the bound port.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        let connection = try await RedisConnection.connect(redis, name: "console")
        let pages = ConsolePages(
            configuration: configuration, redis: connection, templates: try ConsoleTemplates.library(), logger: logger,
            reviews: ReviewIndex(queue: ReviewQueue(streams: configuration.streams), redis: connection))
        let router = Router(context: BasicRequestContext.self)
        pages.add(to: router)
        let logger = self.logger
        let http: HTTPServerBuilder = .http1()
        var tls: TLSConfiguration?
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            tls = try ScoringServer.tls(certificate: certificate, key: key, clientCA: nil)
        }
        return Application(
            router: router,
            server: try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http,
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port), serverName: "fraudstream-console"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("console listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onListening(port)
            },
            logger: logger)
    }
}
