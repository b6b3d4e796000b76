import Foundation

/// Busy loops on every core while `body` runs, for tests that must hold on a loaded machine.
///
/// The loops are stopped with SIGKILL (a test process may ignore SIGTERM, and its children inherit that) and
/// reaped when `body` returns or throws; a loop left behind by a crashed test process ends by itself, because it
/// keeps checking that its parent is alive.
enum CPUHog {
    static func whileRunning<T>(_ body: () async throws -> T) async throws -> T {
        var hogs: [Process] = []
        do {
            for _ in 0..<max(1, ProcessInfo.processInfo.activeProcessorCount) {
                let hog = Process()
                hog.executableURL = URL(fileURLWithPath: "/bin/sh")
                hog.arguments = ["-c", "while kill -0 $PPID 2>/dev/null; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; done"]
                try hog.run()
                hogs.append(hog)
            }
            let value = try await body()
            await stop(hogs)
            return value
        } catch {
            await stop(hogs)
            throw error
        }
    }

    /// Kills the loops and waits (polling, off the cooperative pool's blocking calls) until they are reaped.
    private static func stop(_ hogs: [Process]) async {
        for hog in hogs { kill(hog.processIdentifier, SIGKILL) }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while hogs.contains(where: \.isRunning) && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
