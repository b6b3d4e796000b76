import Logging
import ServiceLifecycle

/// The scoring lanes as one service. On graceful shutdown (after the HTTP server has stopped taking
/// requests and finished those in flight) the queue closes, the lanes drain it and return, and the
/// recorder's buffer is closed so the recorder can flush and finish.
struct ScoringLanes: Service {
    let lanes: [ScoringLane]
    let engine: DecisionEngine

    func run() async {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for lane in lanes { group.addTask { await lane.run() } }
            }
        } onGracefulShutdown: {
            engine.queue.close()
        }
        engine.records.close()
    }
}
