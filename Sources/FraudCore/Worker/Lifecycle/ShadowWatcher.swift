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
        let (connection, store, scorer) = (self.connection, self.store, self.scorer)
        await VersionPoller(what: "shadow model check", intervalMilliseconds: intervalMilliseconds, logger: logger).run(
            whenNone: .clear,
            wanted: { try await store.shadowVersion(on: connection) },
            current: { await scorer.shadowModelVersion },
            install: { version in
                if let version { await scorer.installShadow(try await store.load(version, on: connection)) } else { await scorer.installShadow(nil) }
            },
            isRejection: { ($0 as? FraudError)?.code == .modelUnavailable })
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
