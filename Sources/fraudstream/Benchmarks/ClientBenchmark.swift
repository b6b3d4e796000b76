import Foundation
import RedisClient

/// Pipelined `SET` throughput of this client next to `redis-benchmark -P N -t set`, same server, same run.
struct ClientBenchmark {
    var configuration: RedisConfiguration
    var requests: Int
    var pipeline: Int
    var clients: Int
    var swiftClients: Int
    var repeats: Int

    func run(into table: inout BenchTable) async throws {
        let connections = try await withThrowingTaskGroup(of: RedisConnection.self) { group in
            for index in 0..<clients {
                group.addTask { try await RedisConnection.connect(configuration, name: "bench-\(index)") }
            }
            return try await group.reduce(into: [RedisConnection]()) { $0.append($1) }
        }
        var reference: [Double] = []
        var swift: [Double] = []
        var swiftMany: [Double] = []
        let fewCount = min(swiftClients, connections.count)
        for _ in 0..<repeats {
            // Interleave the runs so machine noise hits all alike.
            if let rate = try await referenceRateOffPool() { reference.append(rate) }
            swift.append(try await swiftRate(Array(connections.prefix(fewCount))))
            swiftMany.append(try await swiftRate(connections))
        }
        // Both clients SET this one key; remove it so a benchmark against someone's server leaves nothing behind.
        try await connections[0].send(RedisCommand("DEL", Self.benchmarkKey))
        if reference.isEmpty {
            table.add("redis-benchmark -P \(pipeline) -t set", "n/a", "ops/s", "redis-benchmark not found (Debian redis-tools)")
        } else {
            table.add("redis-benchmark -P \(pipeline) -c \(clients) -t set", grouped(median(reference)), "ops/s", "C reference")
        }
        table.add("fraudstream client SET, P=\(pipeline), \(fewCount) conns", grouped(median(swift)), "ops/s", "one thread per connection")
        table.add("fraudstream client SET, P=\(pipeline), \(clients) conns", grouped(median(swiftMany)), "ops/s", "\(clients) threads compete with redis-server for 2 cores")
        if !reference.isEmpty {
            for (label, rates) in [("\(fewCount) conns", swift), ("\(clients) conns", swiftMany)] {
                let ratio = (median(rates) / median(reference) * 100).rounded() / 100
                table.add(
                    "ratio swift (\(label)) / redis-benchmark", String(format2: ratio), "x",
                    ratio >= 0.8 ? "within 20% (target)" : "below the 0.80 target")
            }
        }
    }

    /// The key `redis-benchmark -t set` writes (it substitutes nothing without `-r`); ours writes the same.
    static let benchmarkKey = "key:__rand_int__"

    private func swiftRate(_ connections: [RedisConnection]) async throws -> Double {
        let batch = [RedisCommand](repeating: RedisCommand("SET", Self.benchmarkKey, "xxx"), count: pipeline)
        let batches = (requests + pipeline - 1) / pipeline
        let perConnection = batches / connections.count
        let remainder = batches % connections.count
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                let count = perConnection + (index < remainder ? 1 : 0)
                group.addTask(executorPreference: connection.executor) {
                    for _ in 0..<count {
                        let replies = try await connection.pipeline(batch)
                        guard replies.count == batch.count, replies[0] == .simpleString("OK") else {
                            throw RedisError(code: .unexpectedReply, message: "SET returned \(replies.first ?? .null)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = clock.now - start
        return Double(batches * pipeline) / elapsed.seconds
    }

    /// Runs redis-benchmark on a thread of its own: waiting for a process must not hold a pool thread.
    private func referenceRateOffPool() async throws -> Double? {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try referenceRate() }) }.start()
        }
    }

    private func referenceRate() throws -> Double? {
        guard let binary = ["/usr/bin/redis-benchmark", "/usr/local/bin/redis-benchmark"].first(where: {
            FileManager.default.isExecutableFile(atPath: $0)
        }) else { return nil }
        var arguments = ["-P", String(pipeline), "-c", String(clients), "-t", "set", "-n", String(requests), "-q"]
        switch configuration.endpoint {
        case .tcp(let host, let port): arguments += ["-h", host, "-p", String(port)]
        case .unix(let path): arguments += ["-s", path]
        }
        if let password = configuration.password { arguments += ["-a", password, "--no-auth-warning"] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // The last line reads "SET: 812345.69 requests per second, p50=… msec".
        let text = String(decoding: data, as: UTF8.self)
        guard let line = text.split(whereSeparator: \.isNewline).last(where: { $0.contains("SET:") }),
            let number = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return nil }
        return number
    }
}
