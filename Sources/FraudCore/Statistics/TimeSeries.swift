import RedisClient

/// Key names of the fraud counts over time, which `fs_write_batch` and `fs_record_decisions` write in the same
/// atomic call as the results (layout heads `fraudstream_results.lua`). All share the results stream's slot.
public struct TimeSeriesKeys: Sendable {
    /// Default retention (`TIMESERIES_RETENTION`): 24 hours.
    public static let defaultRetentionSeconds = 86_400
    /// Per-second counts are kept for the retention, but at most this long; per-minute ones for the retention.
    public static let perSecondRetentionCapSeconds = 3_600

    /// `<ns>:ts:{<results stream>}`, or `<ns>:ts:{<tag>}` when the stream's name has a hash tag: its slot.
    public let prefix: String

    /// Creates the names for a namespace's results stream.
    public init(namespace: String, resultsStream: String) { prefix = "\(namespace):ts:\(HashSlot.colocatedTag(of: resultsStream))" }

    /// `<prefix>:s:<unix minute>`: field `<second of the minute>:<metric>`.
    public func perSecond(minute: Int64) -> String { "\(prefix):s:\(minute)" }
    /// `<prefix>:m:<unix hour>`: field `<minute of the hour>:<metric>`.
    public func perMinute(hour: Int64) -> String { "\(prefix):m:\(hour)" }
}

/// One second or minute of fraud counts: metric name (`scored`, `approve`, `review`, `decline`, `fraud`,
/// `dead_letter`, `reason:<code>`) to count.
public struct TimeSeriesPoint: Sendable, Equatable {
    /// Start of the second or minute, epoch ms (Redis's clock at the write).
    public var startMilliseconds: Int64
    /// Counts by metric; a metric not written in this interval is absent.
    public var counts: [String: Int]

    /// The count of `metric`, 0 when absent.
    public func count(_ metric: String) -> Int { counts[metric] ?? 0 }
    /// Flagged (is_fraud) over scored, or nil when nothing was scored.
    public var fraudRate: Double? {
        let scored = count("scored")
        return scored > 0 ? Double(count("fraud")) / Double(scored) : nil
    }
}

/// Reads the fraud counts over time.
public struct TimeSeries: Sendable {
    /// Resolution of a read.
    public enum Resolution: Sendable {
        /// One point per second (kept at most ``TimeSeriesKeys/perSecondRetentionCapSeconds``).
        case second
        /// One point per minute.
        case minute

        var milliseconds: Int64 { self == .second ? 1_000 : 60_000 }
    }

    /// The key names (of the first partition).
    public var keys: TimeSeriesKeys { keySets[0] }
    /// Every partition's key names: reads add them up.
    public let keySets: [TimeSeriesKeys]

    /// Creates a reader of one results stream's counts.
    public init(keys: TimeSeriesKeys) { keySets = [keys] }

    /// Creates a reader of every partition's counts.
    public init(streams: StreamNames) {
        keySets = streams.partitions.map { TimeSeriesKeys(namespace: $0.namespace, resultsStream: $0.results) }
    }

    /// One point per second or minute from the one holding `from` to the one holding `to` (epoch ms), in time
    /// order, with empty intervals present (counts empty). At most 100,000 points.
    public func read(from: Int64, to: Int64, resolution: Resolution, on redis: RedisConnection) async throws -> [TimeSeriesPoint] {
        let step = resolution.milliseconds
        let first = from / step, last = max(first, to / step)
        guard last - first < 100_000 else { throw FraudError(.invalidSetting, "time range too long for one read: \(last - first + 1) points") }
        // A hash holds 60 points: a minute of seconds, or an hour of minutes.
        let firstHash = first / 60, lastHash = last / 60
        let hashes = Array(firstHash...lastHash)
        let commands = keySets.flatMap { keys in
            hashes.map { hash in RedisCommand("HGETALL", resolution == .second ? keys.perSecond(minute: hash) : keys.perMinute(hour: hash)) }
        }
        let replies = try await redis.pipeline(commands)
        var points = (first...last).map { TimeSeriesPoint(startMilliseconds: $0 * step, counts: [:]) }
        for (offset, reply) in replies.enumerated() {
            let hash = hashes[offset % hashes.count]
            guard let fields = try reply.get().stringPairs else { continue }
            for (field, value) in fields {
                guard let colon = field.firstIndex(of: ":"), let within = Int64(field[..<colon]), let count = Int(value) else { continue }
                let index = hash * 60 + within - first
                guard index >= 0, index < points.count else { continue }
                points[Int(index)].counts[String(field[field.index(after: colon)...]), default: 0] += count
            }
        }
        return points
    }

    /// Counts summed over the last `seconds` seconds, the one holding `now` (epoch ms, Redis's clock, so far)
    /// included, per metric.
    public func totals(lastSeconds seconds: Int, now: Int64, on redis: RedisConnection) async throws -> [String: Int] {
        let end = now
        let points = try await read(from: end - Int64(seconds - 1) * 1_000, to: end, resolution: .second, on: redis)
        return points.reduce(into: [:]) { sums, point in
            for (metric, count) in point.counts { sums[metric, default: 0] += count }
        }
    }

    /// Redis's clock, epoch ms (`TIME`): the clock the counts are written on.
    public static func serverMilliseconds(on redis: RedisConnection) async throws -> Int64 {
        let time = try await redis.send(RedisCommand("TIME")).array ?? []
        guard time.count == 2, let seconds = time[0].string.flatMap({ Int64($0) }), let micros = time[1].string.flatMap({ Int64($0) }) else {
            throw FraudError(.failedCheck, "TIME returned no time")
        }
        return seconds * 1_000 + micros / 1_000
    }
}

/// The review queue and the analysts' labels.
public struct ReviewKeys: Sendable {
    /// `<ns>:review`, or `<ns>:review:{<tag>}` beside a hash-tagged results stream (a partition): every
    /// `review` decision, appended by the same call that writes the result.
    public let stream: String
    /// `<ns>:labels`: transaction id → `1` (fraud) or `0` (legit), from `review resolve` and `labels import`.
    public let labels: String

    /// The names for a namespace's results stream.
    public init(namespace: String, resultsStream: String) {
        stream = HashSlot.tag(of: resultsStream).map { "\(namespace):review:{\($0)}" } ?? "\(namespace):review"
        labels = "\(namespace):labels"
    }
}
