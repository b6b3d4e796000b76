import Foundation
import FraudCore
import NIOCore
import NIOHTTP1
import Synchronization

/// Drives `POST /v1/score` open-loop: transaction *n* is due at the plan's time for *n*, whatever the
/// answers before it did, and its latency is measured from that scheduled time, so time spent waiting for
/// a free connection (queueing) is counted instead of hidden (no coordinated omission).
public struct HTTPLoadTest: Sendable {
    /// What to send.
    public struct Options: Sendable {
        /// Server host.
        public var host: String
        /// Server port.
        public var port: Int
        /// The run id put on every transaction (the API records decisions under it).
        public var runId: String
        /// The schedule.
        public var plan: RatePlan
        /// Share of fraudulent transactions.
        public var fraudRatio = 0.02
        /// Seed of the traffic.
        public var seed: UInt64 = 1
        /// Event time runs this many times faster than the schedule.
        public var timeScale = 1.0
        /// Event time of the run's start (from the namespace's ``EventClock``); nil: now.
        public var startEventMilliseconds: Int64?
        /// Keep-alive connections, each with one request in flight.
        public var connections = 32
        /// The API key sent as `Authorization: Bearer <key>` (nil: none, for a server run with `--auth off`).
        public var apiKey: String?

        /// Creates options.
        public init(host: String, port: Int, runId: String, plan: RatePlan) {
            self.host = host
            self.port = port
            self.runId = runId
            self.plan = plan
        }
    }

    /// What happened.
    public struct Report: Sendable {
        /// Requests sent.
        public var sent = 0
        /// Answers by status code.
        public var statuses: [Int: Int] = [:]
        /// Answers marked degraded.
        public var degraded = 0
        /// Requests that failed at the connection.
        public var failed = 0
        /// Scheduled send to answer, µs.
        public var latency = LatencyHistogram()
        /// Wall time.
        public var seconds = 0.0
        /// Achieved requests per second.
        public var achievedPerSecond: Double { seconds > 0 ? Double(sent) / seconds : 0 }
    }

    /// Settings.
    public let options: Options
    /// The world whose users the traffic comes from.
    public let world: SyntheticWorld

    /// Creates a load test.
    public init(options: Options, world: SyntheticWorld) {
        self.options = options
        self.world = world
    }

    /// Runs the plan; `progress` gets (sent, seconds) about once a second.
    /// The gist of a connection error: NIO's connection-failure text names the errno in parentheses.
    static func shortReason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Connection refused") { return "connection refused" }
        if text.contains("timed out") || text.contains("Timeout") { return "timed out" }
        return String(text.prefix(120))
    }

    public func run(progress: (@Sendable (Int, Double) -> Void)? = nil) async throws -> Report {
        let options = self.options
        let connections: [HTTPConnection]
        do {
            connections = try await (0..<max(1, options.connections)).asyncMap { _ in
                try await HTTPConnection.connect(
                    host: options.host, port: options.port, headers: options.apiKey.map { [("Authorization", "Bearer \($0)")] } ?? [])
            }
        } catch {
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? Self.shortReason(error)
            throw FraudError(.redis, "cannot connect to the scoring API at http://\(options.host):\(options.port): \(reason)")
        }
        let total = options.plan.totalCount
        let counters = LoadCounters()
        let clock = ContinuousClock()
        // Transactions are made up front so producing them never delays a send; each carries its planned event
        // time, as the stream generator's do.
        var traffic = TrafficLane(
            world: world, seed: options.seed, fraudRatio: options.fraudRatio, runId: options.runId, plan: options.plan,
            startEventMilliseconds: options.startEventMilliseconds ?? Int64(Date().timeIntervalSince1970 * 1000), timeScale: options.timeScale)
        let encoder = JSONEncoder()
        var bodies: [[UInt8]] = []
        bodies.reserveCapacity(total)
        for number in 0..<total {
            var transaction = traffic.next()
            // The label and the fraud scenario go along, as the stream generator sends them: the run statistics give
            // recall per scenario on either path.
            transaction.transactionId = "\(options.runId)-\(number)"
            bodies.append(Array(try encoder.encode(transaction)))
        }
        let payloads = bodies
        // The schedule starts once the bodies exist: time spent making them is not the server's latency.
        let start = clock.now
        var report = try await withThrowingTaskGroup(of: Report?.self) { group in
            for connection in connections {
                group.addTask {
                    var partial = Report()
                    while true {
                        let number = counters.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if number >= total { return partial }
                        let scheduled = start + .nanoseconds(Int64(options.plan.dueSecond(ofTransaction: number) * 1e9))
                        if scheduled > clock.now { try await Task.sleep(until: scheduled, tolerance: .microseconds(50), clock: clock) }
                        do {
                            let reply = try await connection.request(.POST, "/v1/score", body: payloads[number])
                            partial.statuses[reply.status, default: 0] += 1
                            if reply.status == 200, reply.body.contains(subsequence: Self.degradedMarker) { partial.degraded += 1 }
                        } catch {
                            partial.failed += 1
                        }
                        partial.latency.record(microseconds: (clock.now - scheduled).microseconds)
                        partial.sent += 1
                        counters.sent.add(1, ordering: .relaxed)
                    }
                }
            }
            if let progress {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        if !Task.isCancelled { progress(counters.sent.load(ordering: .relaxed), (clock.now - start).seconds) }
                    }
                    return nil
                }
            }
            var merged = Report()
            var finished = 0
            while finished < connections.count, let outcome = try await group.next() {
                guard let partial = outcome else { continue }
                merged.sent += partial.sent
                merged.degraded += partial.degraded
                merged.failed += partial.failed
                merged.latency.add(partial.latency)
                for (status, count) in partial.statuses { merged.statuses[status, default: 0] += count }
                finished += 1
            }
            group.cancelAll()
            return merged
        }
        report.seconds = (clock.now - start).seconds
        for connection in connections { await connection.close() }
        return report
    }

    static let degradedMarker = Array("\"degraded\":true".utf8)
}

/// The load test's shared counters: the next transaction to send and how many were sent.
final class LoadCounters: Sendable {
    let next = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
}

extension Array where Element == UInt8 {
    /// Whether `subsequence` occurs in the bytes.
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        for start in 0...(count - subsequence.count) where self[start] == subsequence[0] {
            if self[start..<(start + subsequence.count)].elementsEqual(subsequence) { return true }
        }
        return false
    }
}

extension Sequence {
    /// Maps in order, awaiting each.
    public func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
