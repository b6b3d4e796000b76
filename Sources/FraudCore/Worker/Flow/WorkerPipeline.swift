import ServiceLifecycle

/// The five stages, each a `Service`, run together in one task group.
struct WorkerPipeline: Service {
    let stages: [any Service]

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for stage in stages {
                group.addTask { try await stage.run() }
            }
            try await group.waitForAll()
        }
    }
}
