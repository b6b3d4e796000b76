import FraudCore
import Synchronization

/// The progress callback of a history replay: about once a second, `replay  n / total` with the rate,
/// so a 10–15 s replay is not silent.
enum ReplayProgress {
    static func printer(total: Int) -> @Sendable (Int) -> Void {
        let clock = ContinuousClock()
        let start = clock.now
        let lastPrinted = Mutex(start)
        return { done in
            let now = clock.now
            let due = lastPrinted.withLock { last -> Bool in
                guard now - last >= .seconds(1), done < total else { return false }
                last = now
                return true
            }
            guard due else { return }
            let seconds = (now - start).seconds
            printLine("replay      \(done) / \(total) transactions, \(Int(Double(done) / max(seconds, 1e-9)))/s")
        }
    }
}
