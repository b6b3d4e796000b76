import RedisClient

/// A ``RetryPolicy`` recovery step: when Redis says a function is missing (someone ran
/// `FUNCTION FLUSH`, or the server restarted without persistence), load the library again and
/// report the failure as repaired so the operation runs again at once.
///
/// The operations retried this way are idempotent by construction (the feature functions skip a
/// transaction already in the user's window; the write function skips entries no longer pending),
/// so retrying never counts or writes anything twice.
public func reloadingLibrary(_ library: FunctionLibrary, on connection: RedisConnection) -> @Sendable (RedisError) async throws(RedisError) -> Bool {
    { error async throws(RedisError) -> Bool in
        guard error.code == .serverError, error.message.contains("Function not found") else { return false }
        try await library.load(on: connection)
        return true
    }
}
