/// A wait that reached its deadline: the test fails with what it was waiting for.
struct WaitTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` until it holds. At the deadline it throws ``WaitTimeout`` naming `what`, so a
/// test never falls through a wait that did not happen.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), pollEvery interval: Duration = .milliseconds(20),
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
