import ServiceLifecycle

/// The five stages, each a `Service`, run together in one task group.
struct WorkerPipeline: Service {
    let stages: [any Service]

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for stage in stages {
                group.addTask { try await stage.run() }
            }
            // Not `waitForAll()`, which waits for every task before it rethrows: the first failure must
            // end the group at once (leaving the scope cancels the others), or stages that wait on it
            // (a permit, a channel) would wait forever.
            while try await group.next() != nil {}
        }
    }
}
