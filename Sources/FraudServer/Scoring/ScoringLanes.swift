import Logging
import ServiceLifecycle

/// The scoring lanes, and the loop answering requests at their deadline, as one service. On graceful shutdown (after the HTTP server has stopped taking
/// requests and finished those in flight) the queue closes, the lanes drain it and return, and the
/// recorder's buffer is closed so the recorder can flush and finish.
struct ScoringLanes: Service {
    let lanes: [ScoringLane]
    let admission: RequestAdmission

    func run() async {
        // Cancelled (a shutdown past its timeout): close both queues so no lane waits for work or for room.
        await withTaskCancellationHandler {
            await runLanes()
        } onCancel: {
            admission.queue.close()
            admission.records.close()
            admission.deadlines.close()
        }
    }

    private func runLanes() async {
        await withTaskGroup(of: Void.self) { deadlines in
            deadlines.addTask { await admission.answerAtDeadlines() }
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    for lane in lanes { group.addTask { await lane.run() } }
                }
            } onGracefulShutdown: {
                admission.queue.close()
            }
            // Every request is answered once the lanes have drained the queue.
            admission.deadlines.close()
        }
        admission.records.close()
    }
}
