import FraudCore
import RedisClient

/// The streams a reader of one run reads (`monitor --stats`, `--plot`, `load-test`): as many partitions as the
/// run's generator recorded in its metadata (`partitions` in `<ns>:stats:run:<run>:meta`), whatever
/// `--partitions` / `PARTITIONS` say, so a part of a run is never reported as the whole. A run without that
/// record (the scoring API's, an outside producer's) is read over the partitions the settings name.
enum RunStreams {
    /// The streams of `run`; `note` gets one line when the settings named a different partition count.
    static func resolve(
        run: String, settings: SettingsResolver, redis: RedisConnection, note: (String) -> Void
    ) async throws -> StreamNames {
        let named = await settings.streams(on: redis)
        guard let recorded = try await RunStatistics.recordedPartitionCount(run: run, namespace: named.namespace, on: redis),
            recorded >= 1, recorded != named.partitionCount
        else { return named }
        if let given = try settings.integer(Settings.partitions, in: 1...1_024), given != recorded {
            note("note        run \(run) was generated over \(recorded) partition(s); reading all \(recorded), "
                + "not the \(given) of \(settings.source(of: Settings.partitions))")
        }
        return named.withPartitionCount(recorded, onCluster: await redis.isCluster)
    }
}
