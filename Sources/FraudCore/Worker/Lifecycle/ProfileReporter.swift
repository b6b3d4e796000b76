import Foundation
import ServiceLifecycle

/// `--profile`: every few seconds, throughput, in-flight batches and where the time per transaction goes.
struct ProfileReporter: Service {
    let counters: PipelineCounters
    let limiter: InFlightLimiter
    let intervalSeconds: Int
    /// The worker's consumer name, at the start of every line (several workers may share a terminal).
    let workerId: String

    func run() async {
        var previous = counters.snapshot
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await gracefulShutdownAwareSleep(milliseconds: intervalSeconds * 1000)
            let now = counters.snapshot
            let written = now.written - previous.written
            let batches = max(1, now.batches - previous.batches)
            func perTransaction(_ micros: Int) -> String {
                written == 0 ? "-" : String(format: "%.1f", Double(micros) / Double(written))
            }
            let inFlight = await limiter.inFlight
            printLine(
                String(
                    format: "profile  %@  %8.0f tx/s  in-flight %d/%d batches  avg batch %.0f  round trips/batch %.1f  "
                        + "µs/tx: queue %@  features %@  scoring %@  write %@",
                    workerId, Double(written) / Double(intervalSeconds), inFlight, limiter.capacity,
                    Double(written) / Double(batches), Double(now.roundTrips - previous.roundTrips) / Double(batches),
                    perTransaction(now.queueMicroseconds - previous.queueMicroseconds),
                    perTransaction(now.featureMicroseconds - previous.featureMicroseconds),
                    perTransaction(now.scoringMicroseconds - previous.scoringMicroseconds),
                    perTransaction(now.writeMicroseconds - previous.writeMicroseconds)))
            previous = now
        }
    }
}
