import FraudCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import RedisClient
import ServiceLifecycle
import UnixSignals

/// `fraudstream serve`: the synchronous scoring API as services in one `ServiceGroup`.
///
/// Start order: the decision recorder, the statistics flusher, the model and blocklist watchers, the
/// scoring lanes, the HTTP server. A graceful shutdown (SIGTERM/SIGINT) runs in reverse: the server stops
/// accepting and finishes the requests in flight, the lanes drain their queue, the recorder writes every
/// decision made, statistics flush last.
public struct ScoringServer: Sendable {
    /// Settings.
    public let configuration: ServeConfiguration
    /// Where Redis is.
    public let redis: RedisConfiguration
    /// Logger.
    public let logger: Logger

    /// Creates a server.
    public init(configuration: ServeConfiguration, redis: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        var logger = logger
        logger[metadataKey: "server"] = "\(configuration.serverId)"
        self.logger = logger
    }

    /// A wired server, ready to run.
    public struct Assembly: Sendable {
        /// The services.
        public let group: ServiceGroup
        /// The decision admission (tests read its counters).
        public let admission: RequestAdmission
        /// The server's metrics, served at `GET /metrics`.
        public let metrics: FraudMetrics
        /// Where it listens, for the one line a failed bind prints.
        let address: String
        /// The event loop the HTTP server and the lanes share (``ServeConfiguration/redisIOOnEventLoop``), or nil.
        let loop: EventLoopExecutor?
        let loopGroup: MultiThreadedEventLoopGroup?

        /// Runs the services until shutdown; a port that cannot be bound (in use, not allowed) is a ``FraudError``
        /// with one line, not NIO's error text. On the event loop, every service's task prefers it: a request's HTTP
        /// connection, its handler and its lane run on one thread.
        public func run() async throws {
            defer { loopGroup?.shutdownGracefully { _ in } }
            do {
                if let loop {
                    try await withTaskExecutorPreference(loop) { try await group.run() }
                } else {
                    try await group.run()
                }
            } catch let error as IOError {
                throw FraudError(.invalidSetting, "cannot listen on \(address): \(String(cString: strerror(error.errnoCode)))")
            }
        }
    }

    private func connect(
        _ name: String, commandTimeoutMilliseconds: Int? = nil, eventLoop: (any EventLoop)? = nil
    ) async throws(RedisError) -> RedisConnection {
        var redis = self.redis
        redis.clientName = "fraudstream-\(configuration.serverId)-\(name)"
        if let commandTimeoutMilliseconds { redis.commandTimeoutMilliseconds = commandTimeoutMilliseconds }
        return try await RedisConnection.connect(redis, name: name, eventLoop: eventLoop)
    }

    /// Connects, loads the functions, the model and the blocklist, and wires the services;
    /// `onListening` gets the bound port once the server accepts connections.
    public func assemble(
        signals: [UnixSignal] = [.sigterm, .sigint], onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> Assembly {
        let control = try await connect("control")
        // The streams every command names on this Redis: on a cluster (REDIS_CLUSTER=1, or unset and the server says
        // so) the default names get their partition tag, as the worker, `generate` and the readers resolve them.
        var configuration = self.configuration
        let isCluster = await control.isCluster
        configuration.streams = configuration.streams.onCluster(isCluster)
        if isCluster, configuration.streams.partitions.contains(where: { HashSlot.tag(of: $0.results) == nil }) {
            throw FraudError(
                .invalidSetting,
                "on a Redis Cluster the results stream needs a hash tag (its statistics and counts over time share its slot); "
                    + "leave it at its default (on a cluster <ns>:results:{p0}), or name it with a {tag}")
        }
        let startup = try await ServingState.start(
            namespace: configuration.namespace, features: configuration.features, threshold: configuration.threshold,
            reviewThreshold: configuration.reviewThreshold, pinnedModelVersion: configuration.pinnedModelVersion, on: control, logger: logger)
        let model = startup.serving.servingModel
        let metrics = FraudMetrics()
        let journal = try DecisionJournal(
            path: configuration.decisionJournalPath ?? configuration.defaultJournalPath, capacity: configuration.decisionJournalCapacity)
        let unrecorded = metrics.counter(FraudMetrics.Name.apiUnrecorded)
        let admission = RequestAdmission(
            configuration: configuration, serving: startup.serving, logger: logger, journal: journal,
            unrecordedCounter: { unrecorded.increment(by: $0) })
        metrics.modelServing(version: model.version)
        _ = metrics.counter(FraudMetrics.Name.apiDegraded)
        let admissionLimit = metrics.gauge(FraudMetrics.Name.apiAdmissionLimit)
        let inFlight = metrics.gauge(FraudMetrics.Name.apiInFlight)
        metrics.addSampler {
            admissionLimit.record(admission.admissionLimit)
            inFlight.record(admission.depth)
        }

        // One event loop for HTTP and the lanes' Redis I/O (a cluster's routing and TLS to Redis stay on threads).
        let loopGroup = configuration.redisIOOnEventLoop && !isCluster && redis.tls == nil ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let loop = loopGroup?.next()
        var lanes: [ScoringLane] = []
        for index in 0..<configuration.lanes {
            let connection = try await connect(
                "lane-\(index)", commandTimeoutMilliseconds: configuration.redisTimeoutMilliseconds, eventLoop: loop)
            lanes.append(ScoringLane(index: index, admission: admission, connection: connection, logger: logger))
        }
        let statistics = WorkerStatistics(
            namespace: configuration.namespace, workerId: configuration.serverId,
            settingsDescription: "api lanes=\(configuration.lanes) batch_size=\(configuration.batchSize) "
                + "deadline_ms=\(configuration.deadlineMilliseconds) on_timeout=\(configuration.onTimeout) threshold=\(configuration.threshold)",
            statsTTLSeconds: configuration.statsTTLSeconds, resultsStream: configuration.streams.results)
        var recordCall = RecordDecisionsCall(
            resultsStream: configuration.streams.results, serverId: configuration.serverId, namespace: configuration.namespace,
            maxStreamLength: configuration.maxStreamLength, statsTTLSeconds: configuration.statsTTLSeconds,
            timeSeriesRetentionSeconds: configuration.timeSeriesRetentionSeconds)
        recordCall.partitions = configuration.streams
        recordCall.evidence = configuration.fullEvidence
        let recorder = DecisionRecorder(
            buffer: admission.records, connection: try await connect("recorder"),
            call: recordCall, keys: admission.keys, idempotencyTTLMilliseconds: configuration.idempotencyTTLSeconds * 1000,
            statistics: statistics, metrics: metrics, logger: logger,
            keepUnrecorded: { records, maybeApplied in admission.keepUnrecorded(records, maybeApplied: maybeApplied) })

        let router = Router(context: APIRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: AuditRequestIdMiddleware())
        // Every endpoint but the health checks needs an API key with the endpoint's scope (unless --auth off).
        let keyring = APIKeyring()
        var authentication = APIKeyMiddleware(
            keyring: keyring, required: configuration.authRequired,
            adminLimiter: AdminRateLimiter(perSecond: Double(configuration.adminRequestsPerSecond), burst: configuration.adminRequestsPerSecond * 2))
        if let jwks = configuration.jwksFile {
            authentication.tokens = try await TokenVerifier.load(
                jwksFile: jwks, issuer: configuration.jwtIssuer ?? "", audience: configuration.jwtAudience ?? "",
                scopeClaim: configuration.jwtScopeClaim)
        }
        router.add(middleware: authentication)
        if configuration.authRequired {
            let keyStore = APIKeyStore(namespace: configuration.namespace)
            let version = try await keyStore.version(on: control)
            keyring.replace(try await keyStore.load(on: control), version: version)
            if keyring.count == 0 {
                logger.warning(
                    "no API keys yet: every request but /healthz and /readyz is refused until one is created (fraudstream apikeys create --name NAME --scope score)")
            }
        } else {
            logger.warning("--auth off: every endpoint answers without an API key; for local demos only")
        }
        MetricsRoutes(metrics: metrics).add(to: router)
        ScoringRoutes(admission: admission).add(to: router)
        TutorialRoutes(admission: admission, control: control).add(to: router)
        BlocklistRoutes(admission: admission, control: control).add(to: router)
        ApprovalsRoutes(admission: admission, control: control).add(to: router)
        OperationsRoutes(admission: admission, control: control).add(to: router)
        let logger = self.logger
        // Connection hygiene: an idle connection, or one whose request never completes, is closed after the idle
        // timeout (the timer restarts only on whole request parts, not on trickled bytes), a request whose body is not
        // in within --request-timeout-ms of its head too; at most --max-connections.
        let requestTimeout = TimeAmount.milliseconds(Int64(configuration.requestTimeoutMilliseconds))
        let http: HTTPServerBuilder = .http1(configuration: .init(
            additionalChannelHandlers: [RequestReadDeadline(timeout: requestTimeout)],
            idleTimeout: .milliseconds(Int64(configuration.idleTimeoutMilliseconds))))
        let application = Application(
            router: router,
            server: try Self.tls(configuration).map { try .tls(http, tlsConfiguration: $0) } ?? http,
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "fraudstream",
                availableConnectionsDelegate: .maximum(configuration.maxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("scoring API listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onListening(port)
            },
            eventLoopGroupProvider: loopGroup.map { EventLoopGroupProvider.shared($0) } ?? .singleton,
            logger: logger)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: any Service) {
            services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        add(StatisticsFlusher(statistics: statistics, connection: try await connect("stats"), intervalMilliseconds: 1_000, logger: logger))
        add(ServerAnnouncer(
            registry: ServerRegistry(namespace: configuration.namespace),
            posture: ServerRegistry.Posture(
                serverId: configuration.serverId, auth: configuration.authRequired ? "keys" : "off", jwt: configuration.jwksFile != nil,
                https: configuration.tlsCertificate != nil, clientCertificates: configuration.tlsCertificate != nil && configuration.tlsClientCA != nil,
                pseudonymized: configuration.pseudonymizer.map { $0.fields.sorted() } ?? [], address: "\(configuration.host):\(configuration.port)",
                version: configuration.productVersion),
            connection: try await connect("registry"), logger: logger))
        if configuration.authRequired {
            add(APIKeyWatcher(
                keyring: keyring, store: APIKeyStore(namespace: configuration.namespace), connection: try await connect("keys"), logger: logger))
        }
        add(JournalReplayer(
            journal: journal, connection: try await connect("journal"), call: recordCall, keys: admission.keys,
            idempotencyTTLMilliseconds: configuration.idempotencyTTLSeconds * 1000, metrics: metrics, logger: logger))
        add(recorder)
        let watch = try await connect("watch")
        for watcher in startup.watchers(
            connection: watch, intervalMilliseconds: configuration.modelCheckMilliseconds, stateGuard: admission.stateGuard,
            metrics: metrics, logger: logger)
        {
            add(watcher)
        }
        add(ScoringLanes(lanes: lanes, admission: admission))
        add(application)

        // One deadline for the whole shutdown; its marker goes last, so the group tells it first.
        let deadline = ShutdownDeadline(
            milliseconds: configuration.shutdownTimeoutMilliseconds,
            exitCode: configuration.exitsPastShutdownDeadline ? FraudError.Code.stoppedWithPending.exitCode : nil, what: "scoring API",
            leftBehind: "decisions not yet recorded stay in the decision journal, recorded after the next start")
        services.append(.init(service: deadline.marker, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = signals
        // Past the drain the group cancels every service (a blocked Redis call is interrupted). No cancellation bound:
        // ServiceGroup ends the process with a fatal error past one; the deadline's watchdog exits with a line instead.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(deadline.drainMilliseconds)
        logger.info(
            "scoring API ready",
            metadata: ["model_version": "\(model.version)", "lanes": "\(configuration.lanes)", "deadline_ms": "\(configuration.deadlineMilliseconds)"])
        return Assembly(
            group: ServiceGroup(configuration: groupConfiguration), admission: admission, metrics: metrics,
            address: "\(configuration.host):\(configuration.port)", loop: loop.map { EventLoopExecutor($0) }, loopGroup: loopGroup)
    }

    /// The server's TLS configuration (`--tls-cert`, `--tls-key`, `--tls-client-ca`), nil for plain HTTP; a missing or
    /// malformed file is one readable error.
    static func tls(_ configuration: ServeConfiguration) throws -> TLSConfiguration? {
        guard let certificate = configuration.tlsCertificate, let key = configuration.tlsKey else { return nil }
        return try tls(certificate: certificate, key: key, clientCA: configuration.tlsClientCA)
    }

    /// A server TLS configuration from PEM files (TLS 1.2 or later; with `clientCA`, client certificates required).
    static func tls(certificate: String, key: String, clientCA: String?) throws -> TLSConfiguration {
        do {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            if let clientCA {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
                tls.certificateVerification = .noHostnameVerification
            }
            return tls
        } catch {
            throw FraudError(.invalidSetting, "cannot use the TLS files (--tls-cert \(certificate), --tls-key \(key)\(clientCA.map { ", --tls-client-ca \($0)" } ?? "")): \(error)")
        }
    }
}
