import FraudCore
import FraudServer
import Foundation
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// `bench --suite console`: how long the analyst console takes to render its pages server-side (request sent to
/// answer read, on loopback) with 10,000 open reviews and 20,000 results in Redis, written as a worker at 1,000
/// decisions per second over the last 20 s would have written them (a review entry in the millisecond of its result):
/// the queue as it opens, the queue
/// filtered and ordered by score, a decision (the review found, the newest results scanned for it and the user's
/// history), the overview and the versions. Median and 90th percentile of 30 requests each, after one warm-up.
struct ConsoleBenchmark {
    let configuration: RedisConfiguration
    let namespace = "benchconsole"
    let reviews = 10_000
    let results = 20_000

    func run(into table: inout BenchTable) async throws {
        let redis = try await RedisConnection.connect(configuration, name: "bench-console")
        let streams = StreamNames(namespace: namespace)
        let reviewStream = ReviewKeys(namespace: namespace, resultsStream: streams.results).stream
        _ = try await redis.send(RedisCommand("DEL", reviewStream, streams.results, "\(namespace):labels"))
        let vector = Array(repeating: "1.5", count: FeatureSchema.count).joined(separator: ",")
        var commands: [RedisCommand] = []
        let start = Int64(Date().timeIntervalSince1970 * 1000) - Int64(results)
        for index in 0..<results {
            let id = "\(start + Int64(index))-0"
            commands.append(RedisCommand(
                "XADD", streams.results, id, "transaction_id", "t-\(index)", "user_id", "u\(index % 500)", "run_id", "bench", "score", "0.250000",
                "is_fraud", "0", "decision", index < reviews ? "review" : "approve", "reasons", "new_device", "model_version", "1",
                "worker_id", "bench", "source_id", "1-1", "latency_ms", "1.000", "queue_ms", "0.1", "features_ms", "0.5", "scoring_ms", "0.1",
                "amount", "\(index % 900).5", "rules_version", "0"))
            if index < reviews {
                commands.append(RedisCommand(
                    "XADD", reviewStream, id, "transaction_id", "t-\(index)", "user_id", "u\(index % 500)", "run_id", "bench",
                    "score", String(format: "0.%04d", index % 10_000), "reasons", "new_device,velocity_1m", "amount", "\(index % 900).5",
                    "source_id", "1-1", "features", vector, "model_version", "1"))
            }
            if commands.count >= 2_000 {
                for reply in try await redis.pipeline(commands) { _ = try reply.get() }
                commands.removeAll()
            }
        }
        for reply in try await redis.pipeline(commands) { _ = try reply.get() }
        let (_, secret) = try await APIKeyStore(namespace: namespace).create(
            name: "bench-\(UUID().uuidString.prefix(8).lowercased())", scopes: [.admin, .read], actor: "cli:bench", on: redis)

        var console = ConsoleConfiguration()
        console.namespace = namespace
        console.streams = streams
        console.port = 0
        var logger = Logger(label: "bench.console")
        logger.logLevel = .error
        let listening = Mutex<Int?>(nil)
        let application = try await ConsoleServer(configuration: console, redis: configuration, logger: logger).application { port in
            listening.withLock { $0 = port }
        }
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let running = Task { try await group.run() }
        defer {
            Task {
                await group.triggerGracefulShutdown()
                _ = try? await running.value
            }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while listening.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw FraudError(.failedCheck, "the console did not start within 60 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = listening.withLock { $0 } ?? 0
        let signIn = try await HTTPConnection.connect(host: "127.0.0.1", port: port)
        let reply = try await signIn.request(
            .POST, "/login", body: Array("key=\(secret)".utf8), contentType: "application/x-www-form-urlencoded")
        await signIn.close()
        guard reply.status == 303, let cookie = reply.header("Set-Cookie")?.split(separator: ";").first.map(String.init) else {
            throw FraudError(.failedCheck, "signing in to the console failed: \(reply.status)")
        }
        let client = try await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Cookie", cookie)])
        for (name, path) in [
            ("queue, 10,000 open reviews", "/"), ("queue filtered, by score", "/?reason=new_device&min=100&sort=score"),
            ("decision, with the user's history", "/decisions/t-5000"), ("overview (hour and day)", "/overview"), ("versions", "/versions"),
        ] {
            _ = try await client.request(.GET, path)
            var times: [Double] = []
            for _ in 0..<30 {
                let started = ContinuousClock.now
                let page = try await client.request(.GET, path)
                guard page.status == 200 else { throw FraudError(.failedCheck, "GET \(path) answered \(page.status)") }
                times.append((ContinuousClock.now - started) / .milliseconds(1))
            }
            times.sort()
            table.add(
                "console: \(name)", String(format: "%.1f", times[times.count / 2]), "ms",
                String(format: "median of 30; p90 %.1f ms (target < 100 ms)", times[times.count * 9 / 10]))
        }
        await client.close()
    }
}
