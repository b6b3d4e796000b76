import Foundation

/// A wait that reached its deadline: the test fails with what it was waiting for.
struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` until it holds. At the deadline it throws ``WaitTimeout`` naming `what`, so a
/// test never falls through a wait that did not happen.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(90), pollEvery interval: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if try await condition() { return }
        guard clock.now < deadline else { throw WaitTimeout(description: "timed out after \(timeout) waiting for \(what)") }
        try await Task.sleep(for: interval)
    }
}

/// Runs blocking work (sockets, child processes waited for) on a thread of its own, never on the cooperative pool: a
/// pool thread blocked in `connect()` can starve the very server it connects to, whose accept loop runs on the pool.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
        }
    }
}
