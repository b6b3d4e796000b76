import RedisClient
import ServiceLifecycle

/// Makes batches: decides their size and linger with ``BatchingState``, asks the consumer for the
/// reads that fill them, validates the entries (``EntryValidator``) and sends each batch on.
///
/// It takes one in-flight permit per batch before the batch's first read, so reading stops while
/// `--max-in-flight` batches are between read and acknowledgement. A linger is a shorter
/// `XREADGROUP … BLOCK` of the next read, so waiting for more entries needs no timer and ends the
/// moment they arrive. The batcher finishes when the consumer stops reading (graceful shutdown).
public struct Batcher: Service {
    private let consumer: Consumer
    private let output: StageChannel<Batch>
    private let limiter: InFlightLimiter
    private let validator: EntryValidator
    private let batchSize: Int
    private let lingerMilliseconds: Int
    private let blockMilliseconds: Int
    private let counters: PipelineCounters
    private let stateGuard: StateGuard?

    /// Creates the stage.
    init(
        consumer: Consumer, output: StageChannel<Batch>, limiter: InFlightLimiter, validator: EntryValidator, batchSize: Int,
        lingerMilliseconds: Int, blockMilliseconds: Int, counters: PipelineCounters, stateGuard: StateGuard? = nil
    ) {
        self.stateGuard = stateGuard
        self.counters = counters
        self.consumer = consumer
        self.output = output
        self.limiter = limiter
        self.validator = validator
        self.batchSize = batchSize
        self.lingerMilliseconds = lingerMilliseconds
        self.blockMilliseconds = blockMilliseconds
    }

    /// Runs until the consumer stops reading, then finishes its output.
    public func run() async throws {
        defer { output.finish() }
        var sequence = 0
        let clock = ContinuousClock()
        while true {
            // No reading while the namespace's state is lost from Redis (StateGuard): nothing is decided from memory.
            if let stateGuard, stateGuard.isPaused {
                await stateGuard.waitWhilePaused()
                if Task.isShuttingDownGracefully || Task.isCancelled { return }
            }
            do {
                // Graceful shutdown wakes a batcher parked on a full pipeline; in-flight batches still drain.
                try await cancelWhenGracefulShutdown { try await limiter.acquire() }
            } catch {
                return
            }
            var state = BatchingState(batchSize: batchSize, lingerMilliseconds: lingerMilliseconds, idleBlockMilliseconds: blockMilliseconds)
            var entries: [DeliveredEntry] = []
            var readAt: ContinuousClock.Instant?
            var consumerStopped = false
            var action = state.firstAction
            while case .read(let count, let block) = action {
                guard let read = try await read(count: count, blockMilliseconds: block) else {
                    consumerStopped = true
                    break
                }
                if read.isEmpty && entries.isEmpty { break }  // idle: give the permit back, look for shutdown
                if readAt == nil { readAt = clock.now }
                entries.append(contentsOf: read)
                action = state.received(read.count, nowMilliseconds: (clock.now - readAt!).microseconds / 1000)
                if read.isEmpty { break }  // the linger ran out with a partial batch
            }
            guard let readAt, !entries.isEmpty else {
                await limiter.release()
                if consumerStopped { return }
                continue
            }
            sequence += 1
            await counters.send(makeBatch(entries, sequence: sequence, readAt: readAt), on: output, at: .features)
            if consumerStopped { return }
        }
    }

    /// One read through the consumer; a failure retrying could not fix says what failed.
    private func read(count: Int, blockMilliseconds: Int) async throws -> [DeliveredEntry]? {
        do {
            return try await consumer.read(count: count, blockMilliseconds: blockMilliseconds)
        } catch {
            if error.code == .cancelled { throw error }
            throw FraudError(stage: "reading the input stream", error)
        }
    }

    /// Validates entries into a numbered batch.
    func makeBatch(_ entries: [DeliveredEntry], sequence: Int, readAt: ContinuousClock.Instant) -> Batch {
        let (items, deadLetters) = validator.validate(entries)
        let now = ContinuousClock.now
        var batch = Batch(sequence: sequence, items: items, deadLetters: deadLetters, readAt: readAt, dispatchedAt: now)
        batch.timings.queueMicroseconds = (now - readAt).microseconds
        return batch
    }
}
