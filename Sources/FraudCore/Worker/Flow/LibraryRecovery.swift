import RedisClient

/// A ``RetryPolicy`` recovery step: when Redis says a function is missing (someone ran
/// `FUNCTION FLUSH`, or the server restarted without persistence), load the library again and
/// report the failure as repaired so the operation runs again at once.
///
/// With `namespace`, it first makes sure Redis did not lose the namespace's state (``NamespaceEpoch``): a server
/// that restarted empty has no functions either, and loading them back would let this process decide on an empty
/// state (every user new, no rules, no blocklist). Until the namespace has its epoch again (`prepare`, `train`, a
/// restore) it waits instead, and the operation waits with it; ``StateWatcher`` says why in the log.
///
/// The operations retried this way are idempotent by construction (the feature functions skip a
/// transaction already in the user's window; the write function skips entries no longer pending),
/// so retrying never counts or writes anything twice.
public func reloadingLibrary(
    _ library: FunctionLibrary, on connection: RedisConnection, waitingForStateOf namespace: String? = nil
) -> @Sendable (RedisError) async throws(RedisError) -> Bool {
    { error async throws(RedisError) -> Bool in
        guard error.code == .serverError, error.message.contains("Function not found") else { return false }
        if let namespace { try await NamespaceEpoch(namespace: namespace).waitUntilPresent(on: connection) }
        try await library.load(on: connection)
        return true
    }
}
