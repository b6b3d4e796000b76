import RedisClient

/// The archive's hold on a results stream: a hash in the stream's slot that the archiver keeps up to date and the
/// record functions read (`fraudstream_results.lua`, `add_result` and `trim_results`).
///
/// - `id`: every entry below it is archived, so trimming may drop it;
/// - `max`: the hard bound on the stream's length while held (past it the oldest entries go, archived or not);
/// - `overrun`: how many entries were added at that bound (each may have pushed out an unarchived one).
///
/// The hash expires ``ttlSeconds`` after the archiver's last refresh: an archiver gone for good stops holding the
/// stream after a day, and the stream is trimmed by its `MAXLEN` again.
public enum ArchiveHold {
    /// `{<stream or its tag>}:archived`.
    public static func key(for stream: String) -> String { "\(HashSlot.colocatedTag(of: stream)):archived" }
    public static let ttlSeconds = 86_400
}
