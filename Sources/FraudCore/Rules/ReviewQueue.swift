import RedisClient

/// The analysts' side of `review` decisions: the review queue every partition's write call appends to, and the
/// labels analysts (`review resolve`) and chargeback files (`labels import`) give, which `prepare --retrain`
/// trains on.
public struct ReviewQueue: Sendable {
    /// One review decision.
    public struct Item: Sendable, Equatable {
        /// Its entry id in the review stream.
        public var id: String
        /// The transaction.
        public var transactionId: String
        /// Its user.
        public var userId: String
        /// Its run.
        public var runId: String
        /// The model's score.
        public var score: String
        /// The reasons.
        public var reasons: String
        /// The amount.
        public var amount: String
        /// The feature vector the decision was made on (nil for the API's reviews, which do not keep it).
        public var features: [Double]?
        /// The model version that scored it (nil for entries written before review entries carried it).
        public var modelVersion: Int?
    }

    /// Every partition's review stream and the labels hash.
    public let keys: [ReviewKeys]
    /// The key namespace (its audit log records the labels).
    public let namespace: String

    /// The queue of a namespace's streams (every partition).
    public init(streams: StreamNames) {
        keys = streams.partitions.map { ReviewKeys(namespace: $0.namespace, resultsStream: $0.results) }
        namespace = streams.namespace
    }

    /// The queue of one partition of a namespace's streams.
    public init(streams: StreamNames, onlyPartition partition: Int) {
        keys = [streams.partition(partition)].map { ReviewKeys(namespace: $0.namespace, resultsStream: $0.results) }
        namespace = streams.namespace
    }

    /// The labels hash.
    public var labelsKey: String { keys[0].labels }

    /// Review decisions, newest first, up to `count` per partition; only those without a label unless `all` (older
    /// entries are read until `count` unlabelled ones are found or the queue ends). Without `features`, the vectors are
    /// not parsed (`nil`): a list of thousands of reviews spends most of its time there.
    public func items(count: Int, all: Bool, features: Bool = true, on redis: RedisConnection) async throws -> [Item] {
        var items: [Item] = []
        for key in keys {
            var found: [Item] = []
            var end = "+"
            while found.count < count {
                let entries = try await redis.send(XRange(stream: key.stream, start: "-", end: end, count: max(count, 100), reverse: true))
                guard !entries.isEmpty else { break }
                var page = entries.map { Self.item($0, features: features) }
                if !all {
                    let labels = try await redis.send(
                        RedisCommand("HMGET", arguments: [labelsKey] + page.map { $0.transactionId as any RedisArgument })).array ?? []
                    page = zip(page, labels).filter { $0.1.string == nil }.map(\.0)
                }
                found += page.prefix(count - found.count)
                guard let last = entries.last?.id, entries.count >= max(count, 100) else { break }
                end = "(" + last
            }
            items += found
        }
        return items
    }

    /// The review decision of `transactionId` in the queue (any partition, newest first), or nil when the queue
    /// holds none: it was never reviewed, or was trimmed away (`MAXLEN ~ MAX_STREAM_LENGTH`).
    public func item(transactionId: String, on redis: RedisConnection) async throws -> Item? {
        for key in keys {
            var end = "+"
            while true {
                let entries = try await redis.send(XRange(stream: key.stream, start: "-", end: end, count: 1_000, reverse: true))
                if let entry = entries.first(where: { $0.value(of: "transaction_id") == transactionId }) { return Self.item(entry) }
                guard let last = entries.last?.id, entries.count == 1_000 else { break }
                end = "(" + last
            }
        }
        return nil
    }

    /// A queue entry as an item.
    public static func item(_ entry: StreamEntry, features parse: Bool = true) -> Item {
        let fields = Dictionary(entry.fields, uniquingKeysWith: { first, _ in first })
        let features = parse ? (fields["features"] ?? "").split(separator: ",").compactMap { Double($0) } : []
        return Item(
            id: entry.id, transactionId: fields["transaction_id"] ?? "", userId: fields["user_id"] ?? "",
            runId: fields["run_id"] ?? "", score: fields["score"] ?? "", reasons: fields["reasons"] ?? "",
            amount: fields["amount"] ?? "", features: features.count >= FeatureSchema.count ? Array(features.prefix(FeatureSchema.count)) : nil,
            modelVersion: fields["model_version"].flatMap { Int($0) })
    }

    /// Records labels (`true` = fraud); a later label of the same transaction replaces an earlier one. Each chunk and
    /// its audit entry (`action`: `review.resolve` or `labels.import`, by `actor`) are one `MULTI`/`EXEC`: the audit
    /// stream shares the labels hash's slot.
    public func label(
        _ labels: [(transactionId: String, fraud: Bool)], actor: String = AuditLog.commandLineActor, action: String = "labels.import",
        source: String? = nil, on redis: RedisConnection
    ) async throws {
        let audit = AuditLog(namespace: namespace)
        var start = 0
        while start < labels.count {
            let chunk = labels[start..<min(labels.count, start + 1_000)]
            var arguments: [any RedisArgument] = [labelsKey]
            for (transaction, fraud) in chunk { arguments += [transaction, fraud ? "1" : "0"] }
            let fraud = chunk.count { $0.fraud }
            let target = chunk.count == 1 ? chunk[chunk.startIndex].transactionId : "\(chunk.count) transactions" + (source.map { " from \($0)" } ?? "")
            let change = chunk.count == 1 ? (chunk[chunk.startIndex].fraud ? "labelled fraud" : "labelled legit") : "\(fraud) fraud, \(chunk.count - fraud) legit"
            let entry = AuditLog.Entry(actor: actor, action: action, target: target, change: change)
            for reply in try await audit.recording([RedisCommand("HSET", arguments: arguments)], entry: entry, key: labelsKey, on: redis) {
                _ = try reply.get()
            }
            start += chunk.count
        }
    }

    /// The labelled reviews that kept their feature vector: training rows for the next model.
    public func labelledRows(on redis: RedisConnection) async throws -> [(features: [Double], fraud: Bool, transactionId: String)] {
        var rows: [(features: [Double], fraud: Bool, transactionId: String)] = []
        for key in keys {
            var cursor = "-"
            while true {
                let entries = try await redis.send(XRange(stream: key.stream, start: cursor, end: "+", count: 5_000))
                guard !entries.isEmpty else { break }
                let ids = entries.map { $0.value(of: "transaction_id") ?? "" }
                let labels = try await redis.send(RedisCommand("HMGET", arguments: [labelsKey] + ids.map { $0 as any RedisArgument })).array ?? []
                for (entry, label) in zip(entries, labels) {
                    guard let label = label.string, let text = entry.value(of: "features") else { continue }
                    let features = text.split(separator: ",").compactMap { Double($0) }
                    // The built-in features train the model; a feature set's come after them.
                    guard features.count >= FeatureSchema.count else { continue }
                    rows.append((Array(features.prefix(FeatureSchema.count)), label == "1", entry.value(of: "transaction_id") ?? ""))
                }
                guard let last = entries.last?.id, entries.count == 5_000 else { break }
                cursor = "(" + last
            }
        }
        return rows
    }
}
