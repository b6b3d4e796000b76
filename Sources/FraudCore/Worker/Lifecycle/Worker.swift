import Logging
import RedisClient
import ServiceLifecycle
import UnixSignals

/// One worker process: the batcher (reading through the consumer), feature stage, scorer, result
/// writer and batch completion as services in one `ServiceGroup`, connected by bounded channels, with a model
/// watcher, the input stream's retention and a statistics flusher.
///
/// On SIGINT/SIGTERM the group shuts services down in reverse order: the consumer stops reading,
/// the stages behind it drain what is in flight and finish when their input finishes, and the
/// statistics flusher writes last.
public struct Worker: Sendable {
    /// Settings.
    public let configuration: WorkerConfiguration
    /// Where Redis is.
    public let redis: RedisConfiguration
    /// Logger with the worker's metadata.
    public let logger: Logger

    /// Creates a worker.
    public init(configuration: WorkerConfiguration, redis: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerId)"
        self.logger = logger
    }

    /// A wired worker, ready to run, with handles for tests and profiling.
    public struct Assembly: Sendable {
        /// The services in start order.
        public let group: ServiceGroup
        /// In-flight bound.
        public let limiter: InFlightLimiter
        /// Stage counters.
        public let counters: PipelineCounters
        /// Latency histograms.
        public let statistics: WorkerStatistics
        /// The serving state (model, shadow, rules, features).
        public let serving: ServingState
        /// The consumer (of the first partition read).
        public var consumer: Consumer { partitions[0].consumer }
        /// The lease on the consumer name (of the first partition read), held from assembly until ``run()`` returns.
        public var lease: ConsumerLease { partitions[0].lease }
        /// Every partition read: its streams, consumer and lease.
        public let partitions: [Partition]
        /// The worker's metrics (`--metrics-port` serves them).
        public let metrics: FraudMetrics
        let control: RedisConnection
        let configuration: WorkerConfiguration
        let logger: Logger
        /// The one deadline of the whole shutdown (drain, leaving the group, releasing the lease).
        let deadline: ShutdownDeadline
        /// Whether Redis still holds the namespace's state (``StateWatcher``).
        public let stateGuard: StateGuard

        /// One partition of the input as this worker reads it: a pipeline of its own, a lease of its own.
        public struct Partition: Sendable {
            /// Its streams.
            public let streams: StreamNames
            /// Its consumer.
            public let consumer: Consumer
            /// The lease on the consumer name in its stream's slot.
            public let lease: ConsumerLease
        }

        /// Runs the services until graceful shutdown (signal or ``ServiceGroup/triggerGracefulShutdown()``),
        /// then leaves the consumer group when nothing is pending for this worker and releases the
        /// consumer-name lease (after leaving: while it is held, no other worker reads under the name).
        ///
        /// Throws ``FraudError`` with ``FraudError/Code/stoppedWithPending`` when it stopped with entries
        /// read but not acknowledged (the shutdown timeout passed, or a stage failed for good): they
        /// stay pending for another worker, or this one restarted, to claim. A stage's own failure is
        /// reported as the reason.
        public func run() async throws {
            var failure: (any Error)?
            do {
                try await group.run()
            } catch {
                failure = error
            }
            let snapshot = counters.snapshot
            var read = 0
            for partition in partitions { read += await partition.consumer.entriesRead }
            let pending = read - snapshot.written - snapshot.deadLettered - snapshot.duplicates
            let reason = failure.flatMap(Self.reason)
            // Leave the group only after a clean drain (DELCONSUMER would drop pending entries); release
            // the lease after leaving, in every case (compare-and-set: a lease lost to another worker stays theirs).
            // Both within what is left of the shutdown's one deadline: a hung Redis is given up on, not waited out.
            let finished = await deadline.bounded { [self] in
                if pending == 0 && reason == nil { await leaveGroupIfIdle() }
                await releaseLease()
            }
            if !finished {
                logger.warning(
                    "shutdown deadline reached before leaving the group and releasing the lease; the lease expires on its own",
                    metadata: ["shutdown_timeout_ms": "\(configuration.shutdownTimeoutMilliseconds)"])
            }
            if pending > 0 {
                logger.warning("stopped with entries still pending", metadata: ["pending": "\(pending)"])
                throw FraudError(
                    .stoppedWithPending,
                    "stopped with \(pending) entries read but not acknowledged; they stay pending for another worker to claim"
                        + (reason.map { " (\($0.message))" } ?? " (shutdown timeout \(configuration.shutdownTimeoutMilliseconds) ms)"),
                    underlying: reason)
            }
            if let reason { throw reason }
        }

        /// Deletes the leases this worker still holds.
        func releaseLease() async {
            for partition in partitions {
                do {
                    try await partition.lease.release(on: control)
                } catch {
                    logger.warning("could not release the consumer-name lease; it expires on its own", metadata: ["error": "\(error)"])
                }
            }
        }

        /// A failure as a ``FraudError`` for people; `nil` for the cancellation a shutdown timeout causes.
        static func reason(_ error: any Error) -> FraudError? {
            switch error {
            case is CancellationError: return nil
            case let error as RedisError where error.code == .cancelled: return nil
            case let error as FraudError: return error
            case let error as RedisError: return FraudError(redis: error)
            default: return FraudError(.failedCheck, "the worker stopped: \(error)")
            }
        }

        /// Removes this consumer from the group so names of finished workers do not pile up. Only when
        /// nothing is pending for it: `XGROUP DELCONSUMER` would drop pending entries.
        func leaveGroupIfIdle() async {
            for partition in partitions {
                do {
                    let pending = try await control.send(
                        XPendingRange(
                            stream: partition.streams.transactions, group: configuration.consumerGroup, count: 1,
                            consumer: configuration.consumerName))
                    guard pending.isEmpty else { continue }
                    try await control.send(
                        RedisCommand(
                            "XGROUP", "DELCONSUMER", partition.streams.transactions, configuration.consumerGroup,
                            configuration.consumerName))
                } catch {
                    logger.debug("could not leave the consumer group", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    private func connect(_ name: String) async throws(RedisError) -> RedisConnection {
        var configuration = redis
        configuration.clientName = "fraudstream-\(self.configuration.workerId)-\(name)"
        return try await RedisConnection.connect(configuration, name: name)
    }

    /// Connects, loads the functions and the model, and wires the stages.
    public func assemble(
        signals: [UnixSignal] = [.sigterm, .sigint], stageDelay: Duration? = nil, metrics: FraudMetrics = FraudMetrics(),
        metricsEndpoint: (@Sendable (FraudMetrics) -> any Service)? = nil
    ) async throws -> Assembly {
        var configuration = self.configuration
        if let problem = configuration.problem() { throw FraudError(.invalidSetting, problem) }
        let control = try await connect("control")
        // The streams every command names on this Redis: on a cluster (REDIS_CLUSTER=1, or unset and the server says
        // so) the default names get their partition tag, as `generate` and the readers resolve them.
        if await control.isCluster {
            configuration.streams = configuration.streams.onCluster(true)
            try Self.checkClusterLayout(configuration)
        }
        let startup = try await ServingState.start(
            namespace: configuration.namespace, features: configuration.features, threshold: configuration.threshold,
            reviewThreshold: configuration.reviewThreshold, pinnedModelVersion: configuration.pinnedModelVersion, on: control, logger: logger)
        let serving = startup.serving
        let model = serving.servingModel
        let stateGuard = StateGuard(keepServing: configuration.keepServingOnStateLoss)

        // One bound per partition read (memory stays bounded: partitions × --max-in-flight batches): a shared one
        // would let quiet partitions, each holding a permit while blocked in a read, starve a busy one.
        let partitionIndices = configuration.partitionIndices
        let limiters = partitionIndices.map { _ in InFlightLimiter(capacity: configuration.maxInFlight) }
        let limiter = limiters[0]
        let counters = PipelineCounters()
        metrics.modelServing(version: model.version)
        // The feature fetchers serve every partition (a user always goes to the same one).
        var fetchers: [FeatureFetcher] = []
        for index in 0..<configuration.fetchers {
            fetchers.append(FeatureFetcher(
                connection: try await connect("features-\(index)"), serving: serving, logger: logger,
                waitsForState: !configuration.keepServingOnStateLoss, decisionTTLMilliseconds: configuration.idempotencyTTLSeconds * 1000))
        }
        let partitionStreams = configuration.partitionIndices.map { configuration.streams.partition($0) }
        let suffix = { (name: String, index: Int) in partitionStreams.count > 1 || configuration.streams.isPartitioned ? "\(name)-p\(index)" : name }
        addSamplers(to: metrics, limiters: limiters, counters: counters, control: control, partitions: partitionStreams)

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: any Service) {
            services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        // Started in this order, shut down in reverse: the metrics listener first (a draining worker can still be
        // scraped), the pipelines drain first, statistics flush, and the consumer-name leases are renewed until the end.
        if let metricsEndpoint { add(metricsEndpoint(metrics)) }
        for watcher in startup.watchers(
            connection: control, intervalMilliseconds: configuration.modelCheckMilliseconds, stateGuard: stateGuard, metrics: metrics,
            logger: logger)
        {
            add(watcher)
        }
        if configuration.profile {
            add(ProfileReporter(counters: counters, limiters: limiters, intervalSeconds: 5, workerId: configuration.workerId))
        }
        var stages: [any Service] = []
        var partitions: [Assembly.Partition] = []
        var statisticsOfPartitions: [WorkerStatistics] = []
        var keepers: [LeaseKeeper] = []
        for (position, streams) in partitionStreams.enumerated() {
            let limiter = limiters[position]
            var partitionConfiguration = configuration
            partitionConfiguration.streams = streams
            let index = streams.partitionIndex
            let statistics = WorkerStatistics(
                namespace: configuration.namespace, workerId: configuration.workerId, settingsDescription: settingsDescription,
                statsTTLSeconds: configuration.statsTTLSeconds, resultsStream: streams.results)
            statisticsOfPartitions.append(statistics)
            let consumer = Consumer(
                configuration: partitionConfiguration, connection: try await connect(suffix("consumer", index)), counters: counters, logger: logger)
            try await consumer.ensureGroup()
            // The writers carry the lease token: a write under a name another live worker took over is fenced off.
            let lease = ConsumerLease(
                streams: streams, consumer: configuration.consumerName, ttlMilliseconds: configuration.leaseTTLMilliseconds,
                token: configuration.leaseToken ?? ConsumerLease.makeToken())
            var writers: [ResultWriter] = []
            for writer in 0..<configuration.writers {
                writers.append(ResultWriter(
                    connection: try await connect(suffix("writer-\(writer)", index)), configuration: partitionConfiguration,
                    leaseToken: lease.token, logger: logger))
            }
            let batches = StageChannel<Batch>()
            let featured = StageChannel<Batch>()
            let scored = StageChannel<Batch>()
            let acknowledged = StageChannel<AcknowledgedBatch>()
            // Only the consumer reacts to graceful shutdown (it stops reading, so the batcher finishes); the other
            // stages end when their input ends.
            stages += [
                Batcher(
                    consumer: consumer, output: batches, limiter: limiter, validator: EntryValidator(
                        maxDeliveries: configuration.maxDeliveries,
                        earliestTimestampMilliseconds: Int64(configuration.earliestTimestampMilliseconds),
                        maxClockSkewMilliseconds: Int64(configuration.maxClockSkewMilliseconds), maximumAmount: configuration.maxAmount,
                        pseudonymizer: configuration.pseudonymizer),
                    batchSize: configuration.batchSize, lingerMilliseconds: configuration.lingerMilliseconds,
                    blockMilliseconds: configuration.blockMilliseconds, counters: counters, stateGuard: stateGuard),
                FeatureStage(input: batches, output: featured, fetchers: fetchers, counters: counters, partitions: configuration.streams.partitionCount),
                ScoringStage(input: featured, output: scored, serving: serving, counters: counters, delay: stageDelay),
                ResultWriterStage(input: scored, output: acknowledged, writers: writers, counters: counters),
                BatchCompletion(input: acknowledged, limiter: limiter, statistics: statistics, counters: counters, metrics: metrics),
            ]
            add(StatisticsFlusher(
                statistics: statistics, connection: try await connect(suffix("stats", index)),
                intervalMilliseconds: configuration.statisticsFlushMilliseconds, logger: logger))
            add(StreamRetention(
                connection: control, stream: streams.transactions, maximumLength: configuration.maxStreamLength,
                intervalMilliseconds: configuration.retentionCheckMilliseconds, logger: logger))
            partitions.append(Assembly.Partition(streams: streams, consumer: consumer, lease: lease))
        }
        // Every partition's stages run as one pipeline service: a stage that fails for good stops them all.
        add(WorkerPipeline(stages: stages))

        // The consumer-name leases are taken last, so a worker that fails to assemble never holds one, and
        // before anything reads; their keepers start first and stop last.
        var held: [(ConsumerLease, RedisConnection)] = []
        do {
            for partition in partitions {
                let leaseConnection = try await connect(suffix("lease", partition.streams.partitionIndex))
                try await partition.lease.acquire(on: leaseConnection, logger: logger)
                held.append((partition.lease, leaseConnection))
                keepers.append(LeaseKeeper(
                    lease: partition.lease, connection: leaseConnection, renewIntervalMilliseconds: configuration.leaseRenewMilliseconds,
                    logger: logger))
            }
        } catch {
            // A worker that fails to assemble holds no lease: those already taken go back at once.
            for (lease, connection) in held { _ = try? await lease.release(on: connection) }
            throw error
        }
        services.insert(
            contentsOf: keepers.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            at: 0)
        let statistics = statisticsOfPartitions[0]

        // The deadline's marker goes last: the group tells it first when shutdown begins.
        let deadline = ShutdownDeadline(
            milliseconds: configuration.shutdownTimeoutMilliseconds,
            exitCode: configuration.exitsPastShutdownDeadline ? FraudError.Code.stoppedWithPending.exitCode : nil, what: "worker")
        services.append(.init(service: deadline.marker, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore))
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.gracefulShutdownSignals = signals
        // Past this the group cancels every service (a blocked Redis call is interrupted): what is written is
        // acknowledged, the rest stays pending. No cancellation bound: ServiceGroup ends the process with a fatal
        // error past one, where the deadline's watchdog exits with a line and the documented code instead.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(deadline.drainMilliseconds)
        logger.info(
            "worker ready",
            metadata: ["model_version": "\(model.version)", "stream": "\(partitionStreams.map(\.transactions).joined(separator: ","))",
                       "group": "\(configuration.consumerGroup)", "settings": "\(settingsDescription)"])
        return Assembly(
            group: ServiceGroup(configuration: groupConfiguration), limiter: limiter, counters: counters,
            statistics: statistics, serving: serving, partitions: partitions, metrics: metrics, control: control,
            configuration: configuration, logger: logger, deadline: deadline, stateGuard: stateGuard)
    }

    /// On a Redis Cluster a worker's write call (acknowledgement, results, dead letters, statistics, counts over
    /// time) must touch one hash slot: the three streams must share a hash tag. Refuses anything else clearly.
    static func checkClusterLayout(_ configuration: WorkerConfiguration) throws(FraudError) {
        guard configuration.streams.sharedHashTag != nil else {
            throw FraudError(
                .invalidSetting,
                "on a Redis Cluster the input, results and dead-letter streams must share a hash tag so one call writes and "
                    + "acknowledges atomically (\(configuration.streams.transactions), \(configuration.streams.results), "
                    + "\(configuration.streams.deadLetters)); leave them at their defaults (on a cluster "
                    + "<ns>:transactions:{p0}, <ns>:results:{p0}, <ns>:dead_letters:{p0}), or name all three with one {tag}")
        }
        guard configuration.resultTTLSeconds == 0 else {
            throw FraudError(.invalidSetting, "RESULT_TTL > 0 (per-transaction result keys) is not supported on a Redis Cluster; the results stream holds every result")
        }
    }

    /// Gauges read at scrape time: batches in flight, batches waiting at each edge, and the input stream's
    /// consumer-group backlog (``GroupBacklogSampler``, at most once a second however often it is scraped).
    private func addSamplers(
        to metrics: FraudMetrics, limiters: [InFlightLimiter], counters: PipelineCounters, control: RedisConnection, partitions: [StreamNames]
    ) {
        let inFlight = metrics.gauge(FraudMetrics.Name.batchesInFlight)
        metrics.addSampler {
            var total = 0
            for limiter in limiters { total += await limiter.inFlight }
            inFlight.record(total)
        }
        for edge in PipelineCounters.Edge.allCases {
            let gauge = metrics.gauge(FraudMetrics.Name.channelDepth, [("edge", edge.rawValue)])
            metrics.addSampler { gauge.record(counters.waiting(at: edge)) }
        }
        for streams in partitions {
            let backlog = GroupBacklogSampler(
                stream: streams.transactions, group: configuration.consumerGroup, partition: streams.partitionIndex, connection: control,
                metrics: metrics, logger: logger)
            metrics.addSampler { await backlog.sample() }
        }
    }

    /// Runs until SIGINT/SIGTERM, then drains and returns.
    public func run(metricsEndpoint: (@Sendable (FraudMetrics) -> any Service)? = nil) async throws {
        let assembly = try await assemble(metricsEndpoint: metricsEndpoint)
        try await assembly.run()
        let snapshot = assembly.counters.snapshot
        logger.info("worker stopped", metadata: ["written": "\(snapshot.written)", "dead_lettered": "\(snapshot.deadLettered)"])
    }

    /// The settings as stored with run statistics.
    public var settingsDescription: String {
        "batch_size=\(configuration.batchSize) linger_ms=\(configuration.lingerMilliseconds) fetchers=\(configuration.fetchers) "
            + "writers=\(configuration.writers) max_in_flight=\(configuration.maxInFlight) block_ms=\(configuration.blockMilliseconds) "
            + "threshold=\(configuration.threshold)"
    }
}
