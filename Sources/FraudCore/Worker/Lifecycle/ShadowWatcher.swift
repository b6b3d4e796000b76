import Logging
import RedisClient
import ServiceLifecycle

/// Polls `<ns>:model:shadow` and gives the worker's scorer the challenger model to score every transaction with
/// (champion/challenger): set with `fraudstream models shadow N`, cleared with `models shadow --off`.
struct ShadowWatcher: Service {
    let connection: RedisConnection
    let store: ModelStore
    let scorer: Scorer
    let intervalMilliseconds: Int
    let logger: Logger

    func run() async {
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
