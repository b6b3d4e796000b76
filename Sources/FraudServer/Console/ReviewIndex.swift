import FraudCore
import RedisClient

/// The console's copy of the review queues, without the feature vectors, kept up to date by reading only the entries
/// added since the last look (and dropping those the stream's cap trimmed). Reading and decoding a queue of 10,000
/// reviews, each with its vector, took most of a queue page's 140 ms; a look now reads what is new, and the labels
/// (`HMGET`, so a label given anywhere shows at once).
actor ReviewIndex {
    private let queue: ReviewQueue
    private let redis: RedisConnection
    /// Most reviews kept per stream (the newest).
    let capacity: Int
    /// Per stream: the entries, oldest first, and the last id read.
    private var entries: [String: [ReviewQueue.Item]] = [:]
    private var lastIds: [String: String] = [:]

    init(queue: ReviewQueue, redis: RedisConnection, capacity: Int = 200_000) {
        self.queue = queue
        self.redis = redis
        self.capacity = capacity
    }

    /// The open reviews (no label yet) of every stream (or of partition `partition`'s), newest first, and how many
    /// reviews the index holds.
    func open(partition: Int? = nil) async throws -> (open: [ReviewQueue.Item], held: Int) {
        var all: [ReviewQueue.Item] = []
        for (index, key) in queue.keys.enumerated() where partition == nil || partition == index {
            try await refresh(key.stream)
            all += (entries[key.stream] ?? []).reversed()
        }
        guard !all.isEmpty else { return ([], 0) }
        var open: [ReviewQueue.Item] = []
        open.reserveCapacity(all.count)
        var start = 0
        while start < all.count {
            let chunk = all[start..<min(all.count, start + 10_000)]
            let labels = try await redis.send(RedisCommand("HMGET", arguments: [queue.labelsKey] + chunk.map { $0.transactionId as any RedisArgument }))
            for (item, label) in zip(chunk, labels.array ?? []) where label.isNull { open.append(item) }
            start += chunk.count
        }
        return (open, all.count)
    }

    /// The review entry of `transactionId` (the newest), with its vector: found in the index, then read by its id.
    func review(_ transactionId: String) async throws -> ReviewQueue.Item? {
        for key in queue.keys {
            try await refresh(key.stream)
            guard let held = entries[key.stream]?.last(where: { $0.transactionId == transactionId }) else { continue }
            if let entry = try await redis.send(XRange(stream: key.stream, start: held.id, end: held.id, count: 1)).first {
                return ReviewQueue.item(entry)
            }
        }
        return nil
    }

    /// Whether entry id `a` comes before `b`.
    static func isBefore(_ a: String, _ b: String) -> Bool {
        guard let a = StreamID(a), let b = StreamID(b) else { return false }
        return a < b
    }

    /// Brings the index of `stream` up to date. Other looks may run while this one waits for Redis (an actor lets
    /// them): so nothing is read into a local copy across a wait; what a page adds is appended only past the last id
    /// held at that moment, and the trim works on the index as it is then.
    private func refresh(_ stream: String) async throws {
        // Entries the stream's cap trimmed go from the index too.
        let oldest = try await redis.send(XRange(stream: stream, count: 1)).first?.id
        var items = entries[stream] ?? []
        if let oldest {
            if let cut = items.firstIndex(where: { !Self.isBefore($0.id, oldest) }) {
                if cut > 0 { items.removeFirst(cut) }
            } else {
                items.removeAll()
            }
        } else {
            items.removeAll()
        }
        entries[stream] = items
        while true {
            let page = try await redis.send(XRange(stream: stream, start: lastIds[stream].map { "(" + $0 } ?? "-", end: "+", count: 5_000))
            let held = lastIds[stream]
            let fresh = page.filter { entry in held.map { Self.isBefore($0, entry.id) } ?? true }
            if let last = fresh.last {
                entries[stream, default: []] += fresh.map { ReviewQueue.item($0, features: false) }
                lastIds[stream] = last.id
            }
            if page.count < 5_000 { break }
        }
        if let count = entries[stream]?.count, count > capacity { entries[stream]?.removeFirst(count - capacity) }
    }
}
