import ArgumentParser
import FraudArchive
import FraudCore
import FraudServer
import Foundation
import Hummingbird
import Logging
import RedisClient
import ServiceLifecycle

/// `fraudstream console`: the analysts' web application (``ConsoleServer``).
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "The analyst console: the review queue, each decision's evidence and explanation, labels and the blocklist, in a browser.",
        discussion: """
            Sign in with an API key (apikeys create --scope read, or admin to label and change the blocklist). Sessions \
            are signed cookies (HttpOnly, SameSite=Strict, Secure over HTTPS) that end after 8 hours, when the key is \
            revoked, or when the console restarts (unless --session-key-file keeps their key).
            """)

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @Option(help: "Address to listen on (default 127.0.0.1).") var host = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port to listen on (default 8090; 0 picks a free one).") var port = 8090
    @Option(parsing: .unconditional, help: "Partitions of the streams, as the workers use them [PARTITIONS] (default 1).") var partitions: Int?
    @Option(help: "A file of at least 32 secret bytes that signs session cookies, so sessions outlive a restart (default: a random key per process).") var sessionKeyFile: String?
    @Option(help: "HTTPS: the certificate chain, a PEM file (with --tls-key; cookies are then Secure).") var tlsCert: String?
    @Option(help: "HTTPS: the private key of --tls-cert, a PEM file.") var tlsKey: String?
    @Option(help: "Identifiers the workers pseudonymize (so blocklist IPs are stored as theirs) [PSEUDONYMIZE].") var pseudonymize: String?
    @Option(help: "File of the pseudonymization key [FRAUD_ID_KEY_FILE].") var idKeyFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error [LOG_LEVEL] (default info).") var logLevel: String?
    @Option(help: "The decision archive (PostgreSQL), for a user's recent decisions: postgres://… as archive run takes it [POSTGRES_URL] (default: none; the newest results).") var postgresUrl: String?
    @Option(help: "The CA file (PEM) that signed PostgreSQL's certificate [POSTGRES_CA].") var postgresCa: String?

    func validate() throws {
        if !(0...65_535).contains(port) { throw ValidationError("--port must be 0 to 65535") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    func run() async throws {
        let settings = SettingsResolver.command(
            connection.flags, namespace.flags,
            [Settings.partitions: partitions.map(String.init), Settings.logLevel: logLevel, Settings.pseudonymize: pseudonymize, Settings.idKeyFile: idKeyFile,
             PostgresSettings.url: postgresUrl, PostgresSettings.ca: postgresCa])
        _ = try settings.integer(Settings.partitions, in: 1...1_024)
        try bootstrapLogging(settings)
        let logger = Logger(label: "fraudstream.console")
        let redisConfiguration = try connection.configuration(settings, name: "fraudstream-console")
        let redis = try await RedisConnection.connect(redisConfiguration)
        var configuration = ConsoleConfiguration()
        configuration.streams = await settings.streams(on: redis)
        configuration.namespace = configuration.streams.namespace
        configuration.host = host
        configuration.port = port
        configuration.pseudonymizer = try Pseudonymizer.resolve(settings)
        configuration.tlsCertificate = tlsCert
        configuration.tlsKey = tlsKey
        if let sessionKeyFile {
            guard let secret = FileManager.default.contents(atPath: sessionKeyFile), secret.count >= 32 else {
                throw FraudError(.invalidSetting, "--session-key-file \(sessionKeyFile) must be a readable file of at least 32 bytes")
            }
            configuration.signer = ConsoleSessionSigner(secret: Array(secret))
        }
        var archive: ArchiveStore?
        if let postgres = try PostgresSettings.resolve(settings) {
            let store = try await ArchiveStore.open(postgres, logger: logger)
            archive = store
            configuration.archivedHistory = { user, limit in
                var filter = ArchiveStore.Filter()
                filter.user = user
                filter.limit = limit
                return try await store.search(filter).map { row in
                    ConsoleHistoryRow(
                        transactionId: row["transaction_id"] as? String ?? "", decision: row["decision"] as? String ?? "",
                        score: row["score"] as? Double ?? 0, amount: row["amount"] as? Double ?? 0, reasons: row["reasons"] as? [String] ?? [])
                }
            }
        }
        let scheme = tlsCert == nil ? "http" : "https"
        let application = try await ConsoleServer(configuration: configuration, redis: redisConfiguration, logger: logger).application { port in
            printLine("console listening on \(scheme)://\(host):\(port)")
        }
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await archive?.close()
            throw error
        }
        await archive?.close()
    }
}
