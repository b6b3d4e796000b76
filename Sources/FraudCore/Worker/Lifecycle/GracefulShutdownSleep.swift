import ServiceLifecycle

/// Sleeps, returning early (without error) on graceful shutdown.
public func gracefulShutdownAwareSleep(milliseconds: Int) async {
    _ = try? await cancelWhenGracefulShutdown {
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
}
