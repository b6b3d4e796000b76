import FraudCore
import Synchronization

/// The bounded edge between the scoring lanes and the decision recorder: ``append(_:)`` suspends while
/// ``capacity`` records wait, so a recorder that cannot keep up slows the lanes (and admission then
/// answers `503`) instead of growing memory.
final class RecordBuffer: Sendable {
    /// Most records waiting.
    let capacity: Int

    private struct State {
        var records: [RecordDecisionsCall.Record] = []
        var consumer: CheckedContinuation<Void, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// Creates a buffer holding at most `capacity` records.
    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds records, waiting while the buffer is full (records are never dropped: after ``close()`` they
    /// are still taken, so a lane finishing during shutdown loses nothing).
    nonisolated(nonsending) func append(_ records: [RecordDecisionsCall.Record]) async {
        guard !records.isEmpty else { return }
        while true {
            let added: (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
                guard state.records.count < capacity || state.closed else { return (false, nil) }
                state.records.append(contentsOf: records)
                let consumer = state.consumer
                state.consumer = nil
                return (true, consumer)
            }
            if added.0 {
                added.1?.resume()
                return
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.records.count < capacity || state.closed { return true }
                    state.producers.append(continuation)
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Up to `maximum` records, waiting until there is one; empty once closed and drained.
    nonisolated(nonsending) func take(maximum: Int) async -> [RecordDecisionsCall.Record] {
        while true {
            let taken: ([RecordDecisionsCall.Record], [CheckedContinuation<Void, Never>])? = state.withLock { state in
                if state.records.isEmpty { return state.closed ? ([], []) : nil }
                let count = min(maximum, state.records.count)
                let taken = Array(state.records.prefix(count))
                state.records.removeFirst(count)
                let producers = state.producers
                state.producers = []
                return (taken, producers)
            }
            if let taken {
                for producer in taken.1 { producer.resume() }
                return taken.0
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.records.isEmpty || state.closed { return true }
                    state.consumer = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    /// Up to `maximum` records that are waiting now, without waiting.
    func takeAvailable(maximum: Int) -> [RecordDecisionsCall.Record] {
        let (taken, producers) = state.withLock { state -> ([RecordDecisionsCall.Record], [CheckedContinuation<Void, Never>]) in
            let count = min(maximum, state.records.count)
            guard count > 0 else { return ([], []) }
            let taken = Array(state.records.prefix(count))
            state.records.removeFirst(count)
            let producers = state.producers
            state.producers = []
            return (taken, producers)
        }
        for producer in producers { producer.resume() }
        return taken
    }

    /// Whether ``close()`` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Records waiting.
    var count: Int { state.withLock { $0.records.count } }

    /// No more records will come once the lanes finished: ``take(maximum:)`` returns empty when drained.
    func close() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            var waiting = state.producers
            if let consumer = state.consumer { waiting.append(consumer) }
            state.producers = []
            state.consumer = nil
            return waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}
