/// Per-batch stage durations in microseconds.
public struct StageTimings: Sendable {
    /// Read to dispatch, plus waits in channels before features.
    public var queueMicroseconds: Int64 = 0
    /// Feature round trip.
    public var featuresMicroseconds: Int64 = 0
    /// Model and rules for the whole batch.
    public var scoringMicroseconds: Int64 = 0
    /// The write-and-acknowledge call.
    public var writeMicroseconds: Int64 = 0
}
