import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// Whether the state a worker or server decides with is still in Redis. After Redis lost its data (a restart without
/// persistence, a flush, a failover to an empty replica) a process would go on approving with the model in its memory,
/// every user a `new_user` and the operators' rules gone; this makes that loud instead: ``StateWatcher`` marks the state
/// lost, the worker stops reading and the server answers `503 state_lost` and fails `/readyz`, until the namespace has
/// a model again (`prepare`, `train`, a restore). `--keep-serving-on-state-loss` keeps deciding from memory, still loudly.
public final class StateGuard: Sendable {
    /// Go on deciding from memory when the state is lost.
    public let keepServing: Bool
    private let lost = Mutex(false)

    /// A guard; `keepServing` decides from memory after a loss.
    public init(keepServing: Bool = false) { self.keepServing = keepServing }

    /// Whether the state is lost now.
    public var isLost: Bool { lost.withLock { $0 } }

    /// Whether deciding is paused: the state is lost and the process was not told to keep serving.
    public var isPaused: Bool { !keepServing && isLost }

    /// Marks the state lost (a stage found the epoch gone) or back (``StateWatcher``).
    public func mark(lost value: Bool) { lost.withLock { $0 = value } }

    /// Returns once deciding is not paused, or on graceful shutdown or cancellation.
    public func waitWhilePaused() async {
        while isPaused && !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: 100)
        }
    }
}

/// Checks every interval that the namespace's epoch (``NamespaceEpoch``) is the one seen at start and that the model
/// served is still stored. On a loss it logs at error level, counts `fraudstream_state_losses_total`, sets the
/// `fraudstream_state_lost` gauge and marks the ``StateGuard``. Once the namespace has an epoch and the model again, it
/// reloads the model (a rebuilt namespace may hold another model under the same version number), adopts the new epoch
/// and resumes.
public struct StateWatcher: Service {
    let connection: RedisConnection
    let namespace: String
    let epoch: String
    let stateGuard: StateGuard
    let pinnedModelVersion: Int?
    let serving: ServingState
    let intervalMilliseconds: Int
    let metrics: FraudMetrics
    let logger: Logger

    /// Creates a watcher for the epoch `epoch` seen at start.
    public init(
        connection: RedisConnection, namespace: String, epoch: String, stateGuard: StateGuard, pinnedModelVersion: Int?,
        serving: ServingState, intervalMilliseconds: Int, metrics: FraudMetrics, logger: Logger
    ) {
        self.connection = connection
        self.namespace = namespace
        self.epoch = epoch
        self.stateGuard = stateGuard
        self.pinnedModelVersion = pinnedModelVersion
        self.serving = serving
        self.intervalMilliseconds = intervalMilliseconds
        self.metrics = metrics
        self.logger = logger
    }

    /// Checks until graceful shutdown.
    public func run() async {
        let gauge = metrics.gauge(FraudMetrics.Name.stateLost)
        gauge.record(0)
        _ = metrics.counter(FraudMetrics.Name.stateLosses)
        let store = ModelStore(namespace: namespace)
        let epochs = NamespaceEpoch(namespace: namespace)
        var expected = epoch
        // Whether this loss was logged and counted: a stage that meets the loss first (a missing library with no
        // epoch) marks the guard itself, and the report still comes from here, once.
        var reported = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            do {
                let served = serving.nextModelVersion
                let replies = try await connection.pipeline([
                    RedisCommand("GET", epochs.key), RedisCommand("EXISTS", store.key(served)),
                ])
                let current = try replies[0].get().string
                let modelStored = try replies[1].get().int == 1
                if current != expected || !modelStored { stateGuard.mark(lost: true) }
                guard stateGuard.isLost else { continue }
                if !reported {
                    reported = true
                    gauge.record(1)
                    metrics.counter(FraudMetrics.Name.stateLosses).increment()
                    let what = current == nil ? "its epoch key \(epochs.key) is gone" : (current != expected ? "its epoch changed" : "model version \(served) is gone")
                    let consequence = stateGuard.keepServing
                        ? "deciding on from memory (--keep-serving-on-state-loss); every user reads as new"
                        : "not deciding until the namespace has a model again (prepare, train or a restore)"
                    logger.error(
                        "Redis lost this namespace's state (\(what)): \(consequence)",
                        metadata: ["namespace": "\(namespace)", "model_version": "\(served)"])
                }
                // Lost: back once there is an epoch and a model to serve, loaded fresh.
                guard let current else { continue }
                guard let record = try? await store.load(pinnedModelVersion, on: connection), (try? serving.install(record)) != nil else { continue }
                metrics.modelServing(version: record.version)
                expected = current
                reported = false
                stateGuard.mark(lost: false)
                gauge.record(0)
                logger.notice("the namespace's state is back; deciding again", metadata: ["model_version": "\(record.version)"])
            } catch {
                if Task.isCancelled { return }
                logger.debug("state check failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
