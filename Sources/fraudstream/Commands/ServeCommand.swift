import ArgumentParser
import FraudCore
import FraudServer
import Foundation
import Logging
import RedisClient

/// `fraudstream serve`: the synchronous scoring API for the authorization path.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the synchronous scoring API over HTTP (POST /v1/score).",
        discussion: """
            Every flag has an environment twin (in brackets) and a default. Requests are gathered into micro-batches \
            per lane and scored with the worker's features, model and rules; a request whose features are not there \
            within --deadline-ms is answered from the transaction alone with the --on-timeout decision and the \
            reason degraded. Past what its lanes decide within the deadline (a learned bound, at most --max-in-flight) the server \
            answers 503 with Retry-After. The same \
            transaction_id sent again gets its first decision back and counts nothing twice. Every decision is \
            appended to the results stream with source=api. On SIGINT/SIGTERM the server stops accepting, finishes \
            the requests in flight, records their decisions, flushes statistics and exits 0.

            Endpoints: POST /v1/score[?explain=true], POST /v1/score/batch, POST / (the Redis tutorial's \
            clean/ip_blacklist/click_spam), PUT/DELETE/GET /v1/blocklist/ip/{ip}, GET /v1/approvals, \
            POST /v1/approvals/{id}/approve|reject, GET /healthz, GET /readyz, GET /v1/models/current, GET /metrics, \
            GET /openapi.json. Every endpoint but /healthz, /readyz and /openapi.json needs Authorization: Bearer with an \
            API key (fraudstream apikeys create) or a JWT (--jwks) that has its scope, unless --auth off.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var decisions: DecisionOptions

    @Option(help: "Address to listen on [HOST] (default 127.0.0.1; 0.0.0.0 for every interface).")
    var host: String?
    @Option(parsing: .unconditional, help: "Port to listen on [PORT] (default 8080; 0 picks a free one).")
    var port: Int?
    @Option(parsing: .unconditional, help: "The most transactions ever admitted and not yet decided: the ceiling of the learned admission bound (past the bound, 503 with Retry-After) [API_MAX_IN_FLIGHT] (default 4096).")
    var maxInFlight: Int?
    @Option(parsing: .unconditional, help: "How long a request waits for its features before a degraded answer, ms [DEADLINE_MS] (default 20).")
    var deadlineMs: Int?
    @Option(help: "Decision of a degraded answer: approve, review or decline [ON_TIMEOUT] (default review).")
    var onTimeout: String?
    @Option(parsing: .unconditional, help: "Close a connection with no complete request part read or written for this long, ms: idle keep-alive connections and requests whose headers never finish [IDLE_TIMEOUT_MS] (default 30000).")
    var idleTimeoutMs: Int?
    @Option(parsing: .unconditional, help: "Close a connection whose request body is not read in full this long after its headers, ms: a body trickled in part by part [REQUEST_TIMEOUT_MS] (default 60000).")
    var requestTimeoutMs: Int?
    @Option(parsing: .unconditional, help: "Most open connections; past it new ones wait in the listen backlog [MAX_CONNECTIONS] (default 10000).")
    var maxConnections: Int?
    @Option(parsing: .unconditional, help: "Admin requests (blocklist changes) per second per API key, in bursts of twice that; past it 429 with Retry-After [ADMIN_RATE_LIMIT] (default 10).")
    var adminRateLimit: Int?
    @Option(help: "A JSON Web Key Set file: bearer JWTs signed by its keys (RS256, ES256) are accepted beside API keys [JWKS_FILE] (default none).")
    var jwks: String?
    @Option(help: "The iss a JWT must carry (required with --jwks) [JWT_ISSUER].") var jwtIssuer: String?
    @Option(help: "The aud a JWT must include (required with --jwks) [JWT_AUDIENCE].") var jwtAudience: String?
    @Option(help: "The claim with a JWT's scopes: score, read, admin (or fraudstream:score …), space-separated or an array [JWT_SCOPE_CLAIM] (default scope).")
    var jwtScopeClaim: String?
    @Option(help: "HTTPS: the server's certificate chain, a PEM file (with --tls-key) [TLS_CERT] (default: plain HTTP).") var tlsCert: String?
    @Option(help: "HTTPS: the private key of --tls-cert, a PEM file [TLS_KEY].") var tlsKey: String?
    @Option(help: "Require client certificates signed by this CA, a PEM file (mutual TLS; with --tls-cert) [TLS_CLIENT_CA].") var tlsClientCa: String?
    @Option(help: "keys: every endpoint but /healthz, /readyz and /openapi.json needs Authorization: Bearer <API key> (fraudstream apikeys create); off: none does, for local demos only (logged as a warning, shown by /readyz) [API_AUTH] (default keys).")
    var auth: String?
    @Option(parsing: .unconditional, help: "Most transactions per lane round trip [API_BATCH_SIZE] (default 128).")
    var batchSize: Int?
    @Option(parsing: .unconditional, help: "Scoring lanes, each with its own Redis connection; one user always goes to the same one [FETCHERS] (default 2).")
    var fetchers: Int?
    @Option(parsing: .unconditional, help: "Seconds a transaction's first decision is kept for retries [IDEMPOTENCY_TTL] (default 86400).")
    var idempotencyTtl: Int?
    @Option(parsing: .unconditional, help: "Longest wait for one lane round trip before the connection is dropped, ms; a batch not written by then is not recorded [REDIS_TIMEOUT_MS] (default 1000).")
    var redisTimeoutMs: Int?
    @Option(help: "loop: the lanes' Redis connections live on the HTTP server's event loop, so a request is read, decided and answered on one thread; threads: each connection has its own blocking thread. A cluster or TLS to Redis uses threads [REDIS_IO] (default loop).")
    var redisIo: String?
    @Option(help: "Id written as worker_id with the API's results and statistics [SERVER_ID] (default api-<host>-<pid>).")
    var serverId: String?
    @Option(help: "File that keeps decisions given while Redis was away until they are recorded; one server per file [DECISION_JOURNAL] (default $XDG_STATE_HOME or ~/.local/state, /fraudstream/decision-journal-<namespace>-<port>.jsonl).")
    var decisionJournal: String?
    @Option(parsing: .unconditional, help: "Most decisions the journal keeps; past it the loss is counted and logged [DECISION_JOURNAL_CAPACITY] (default 100000).")
    var decisionJournalCapacity: Int?

    /// The flags given, by the setting each overrides.
    var flags: [Setting: String?] {
        [
            ServeSettings.host: host, ServeSettings.port: port.map(String.init), ServeSettings.maxInFlight: maxInFlight.map(String.init),
            ServeSettings.deadlineMilliseconds: deadlineMs.map(String.init), ServeSettings.onTimeout: onTimeout, ServeSettings.auth: auth,
            ServeSettings.idleTimeoutMilliseconds: idleTimeoutMs.map(String.init), ServeSettings.maxConnections: maxConnections.map(String.init),
            ServeSettings.requestTimeoutMilliseconds: requestTimeoutMs.map(String.init),
            ServeSettings.adminRateLimit: adminRateLimit.map(String.init), ServeSettings.jwksFile: jwks, ServeSettings.jwtIssuer: jwtIssuer,
            ServeSettings.jwtAudience: jwtAudience, ServeSettings.jwtScopeClaim: jwtScopeClaim, ServeSettings.tlsCertificate: tlsCert,
            ServeSettings.tlsKey: tlsKey, ServeSettings.tlsClientCA: tlsClientCa,
            ServeSettings.batchSize: batchSize.map(String.init), Settings.fetchers: fetchers.map(String.init),
            ServeSettings.idempotencyTTL: idempotencyTtl.map(String.init), ServeSettings.serverId: serverId,
            ServeSettings.redisTimeoutMilliseconds: redisTimeoutMs.map(String.init), ServeSettings.redisIO: redisIo,
            ServeSettings.decisionJournal: decisionJournal, ServeSettings.decisionJournalCapacity: decisionJournalCapacity.map(String.init),
        ]
    }

    func run() async throws {
        let settings = SettingsResolver.command(connection.flags, namespace.flags, decisions.flags, flags)
        var configuration = try ServeConfiguration.resolve(
            settings, defaultServerId: "api-\(ProcessInfo.processInfo.hostName)-\(getpid())")
        configuration.exitsPastShutdownDeadline = true
        configuration.productVersion = FraudStreamCommand.version
        try bootstrapLogging(settings)
        let logger = Logger(label: "fraudstream.serve")
        let host = configuration.host
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let server = ScoringServer(configuration: configuration, redis: try connection.configuration(settings), logger: logger)
        let assembly = try await server.assemble { port in
            // One line on standard output, for scripts: where to send requests.
            printLine("listening on \(scheme)://\(host):\(port)")
        }
        try await assembly.run()
        let counts = assembly.admission.answerCounts
        logger.info(
            "scoring API stopped",
            metadata: ["scored": "\(counts.scored)", "replayed": "\(counts.replayed)", "degraded": "\(counts.degraded)",
                       "overloaded": "\(counts.overloaded)", "unrecorded": "\(counts.unrecorded)"])
    }
}
