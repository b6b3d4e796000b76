import ServiceLifecycle

/// The consumer as a service.
struct ConsumerService: Service {
    let consumer: Consumer
    let output: StageChannel<ReadChunk>

    func run() async throws {
        try await consumer.run(into: output)
    }
}
