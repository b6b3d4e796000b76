import Synchronization

/// Process-wide counts of the client's recoveries, for metrics: every connection's reconnects and every
/// retry a ``RetryPolicy`` makes. Monotonic; readers take differences.
public enum RedisActivity {
    private static let reconnectCount = Atomic<Int>(0)
    private static let retryCount = Atomic<Int>(0)

    /// Connections opened again after having been open (all connections of the process).
    public static var reconnects: Int { reconnectCount.load(ordering: .relaxed) }
    /// Operations retried after a failure (all retry policies of the process).
    public static var retries: Int { retryCount.load(ordering: .relaxed) }

    static func reconnected() { reconnectCount.wrappingAdd(1, ordering: .relaxed) }
    static func retried() { retryCount.wrappingAdd(1, ordering: .relaxed) }
}
