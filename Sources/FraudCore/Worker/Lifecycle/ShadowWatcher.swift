import Logging
import RedisClient
import ServiceLifecycle

/// Polls `<ns>:model:shadow` and gives the worker's scorer the challenger model to score every transaction with
/// (champion/challenger): set with `fraudstream models shadow N`, cleared with `models shadow --off`.
public struct ShadowWatcher: Service {
    let connection: RedisConnection
    let store: ModelStore
    let scorer: any ShadowReceiver
    let intervalMilliseconds: Int
    let logger: Logger

    /// Creates a watcher.
    public init(connection: RedisConnection, store: ModelStore, scorer: any ShadowReceiver, intervalMilliseconds: Int, logger: Logger) {
        self.connection = connection
        self.store = store
        self.scorer = scorer
        self.intervalMilliseconds = intervalMilliseconds
        self.logger = logger
    }

    /// Polls until graceful shutdown.
    public func run() async {
        var outage = OutageLog("shadow model check")
        var rejected: Int?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let wanted = try await store.shadowVersion(on: connection)
                outage.succeeded(logger: logger)
                if wanted != (await scorer.shadowModelVersion), wanted == nil || wanted != rejected {
                    if let wanted {
                        do {
                            await scorer.installShadow(try await store.load(wanted, on: connection))
                        } catch let error as FraudError where error.code == .modelUnavailable {
                            rejected = wanted
                            logger.error("shadow model rejected", metadata: ["version": "\(wanted)", "error": "\(error)"])
                        }
                    } else {
                        await scorer.installShadow(nil)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                outage.failed(error, logger: logger)
            }
            await gracefulShutdownAwareSleep(milliseconds: intervalMilliseconds)
        }
    }
}

/// What takes a shadow (challenger) model: the worker's ``Scorer`` and the API's scorer.
public protocol ShadowReceiver: Sendable {
    /// The shadow model's version, nil when none.
    var shadowModelVersion: Int? { get async }
    /// Sets (nil: clears) the shadow model.
    func installShadow(_ record: ModelRecord?) async
}

extension Scorer: ShadowReceiver {}
