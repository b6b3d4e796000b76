import Foundation
import ServiceLifecycle

/// `--profile`: every few seconds, throughput, in-flight batches and where the time per transaction goes, over every
/// partition the worker reads (the in-flight bound is per partition: each is shown when there are several).
struct ProfileReporter: Service {
    let counters: PipelineCounters
    let limiters: [InFlightLimiter]
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
            var perPartition: [Int] = []
            for limiter in limiters { perPartition.append(await limiter.inFlight) }
            let inFlight = perPartition.reduce(0, +)
            let capacity = limiters.reduce(0) { $0 + $1.capacity }
            let parts = limiters.count > 1
                ? " (" + zip(perPartition, limiters).enumerated().map { "p\($0.offset) \($0.element.0)/\($0.element.1.capacity)" }.joined(separator: ", ") + ")"
                : ""
            printLine(
                String(
                    format: "profile  %@  %8.0f tx/s  in-flight %d/%d batches%@  avg batch %.0f  round trips/batch %.1f  "
                        + "µs/tx: queue %@  features %@  scoring %@  write %@",
                    workerId, Double(written) / Double(intervalSeconds), inFlight, capacity, parts,
                    Double(written) / Double(batches), Double(now.roundTrips - previous.roundTrips) / Double(batches),
                    perTransaction(now.queueMicroseconds - previous.queueMicroseconds),
                    perTransaction(now.featureMicroseconds - previous.featureMicroseconds),
                    perTransaction(now.scoringMicroseconds - previous.scoringMicroseconds),
                    perTransaction(now.writeMicroseconds - previous.writeMicroseconds)))
            previous = now
        }
    }
}
