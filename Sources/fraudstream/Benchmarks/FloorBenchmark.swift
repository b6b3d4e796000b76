import FraudCore
import Foundation
import RedisClient
import RedisHarness

/// `bench --suite floor`: Redis's CPU per transaction on FraudStream's path against the floor, in one run, interleaved:
/// - a calibration: pipelined `SET`s, Redis µs per `SET`;
/// - the floor that follows the functions (``RecordedDrain``): a drain recorded once with `MONITOR` on a private server,
///   then, on a copy of the state it started from, the commands its functions ran replayed as native commands (the
///   floor), and the worker's own commands replayed (what the drain costs, as a check), each `--drain-repeats` times;
/// - a fixed minimal floor: the 14 native commands one transaction's features and record need at the least, with no
///   Lua, pipelined 256 transactions at a time, over the drain's own traffic and keys: `HMGET` of the profile; `ZADD NX`
///   and three `ZCOUNT`s on the window; `HSET` of the running state; `ZADD` of the device; a `BITFIELD` increment of the
///   count-min sketch; `PFADD` and `PFCOUNT` of the merchants; `ZADD` and `ZCOUNT` on the device's click window; a
///   `GETBIT` of the blocklist; the `XADD` of the result;
/// - FraudStream's drain (``DrainBenchmark``).
/// Each as µs per transaction and as `SET`s' worth, with the ratios to the floors, and the replayed floor's
/// `INFO commandstats` per command. A floor has no atomicity and no idempotency: it is what the commands cost alone.
extension DrainBenchmark {
    func compareFloor(into table: inout BenchTable, repeats: Int) async throws {
        var model: ModelRecord?
        var scratch = BenchTable()
        var setCosts: [Double] = []
        var minimalCosts: [Double] = []
        var drainCosts: [Double] = []
        var floorCosts: [Double] = []
        var replayCosts: [Double] = []
        var replayErrors = 0
        var functionCosts: [String: [(called: Double, native: Double)]] = [:]
        var functionErrors: [String: Int] = [:]
        var floorErrors = 0
        var floorCommands: [(command: String, callsPerTransaction: Double, microsecondsPerTransaction: Double)] = []
        let server = try await RedisServer.start()
        do {
            var recorder = self
            recorder.configuration = server.configuration
            recorder.transactions = min(transactions, 20_000)
            let recorded = try await RecordedDrain.record(recorder, on: server, model: &model)
            for _ in 0..<max(1, repeats) {
                setCosts.append(try await setMicroseconds())
                let drained = try await sample(model: &model, table: &scratch)
                drainCosts.append(drained.redisMicroseconds)
                minimalCosts.append(try await floorMicroseconds().microseconds)
                let floor = try await recorded.replay(recorded.floor, on: server)
                floorCosts.append(floor.microseconds)
                floorCommands = floor.commands
                let replayed = try await recorded.replay(recorded.sent, on: server)
                replayCosts.append(replayed.microseconds)
                // A command that failed in a replay cost less than it should: every replay's errors are reported.
                floorErrors = floor.errors
                replayErrors = replayed.errors
                // Each function's Lua: its calls against the commands they ran, beside the worker's native commands.
                for function in recorded.functions where function.callsPerTransaction >= 0.001 {
                    let called = try await recorded.replay(recorded.sent(only: function.name), on: server)
                    let native = try await recorded.replay(recorded.sent(replacing: function.name), on: server)
                    functionCosts[function.name, default: []].append((called.microseconds, native.microseconds))
                    functionErrors[function.name] = called.errors + native.errors
                }
            }
            table.add("pipelined SET (calibration)", String(format: "%.2f", median(setCosts)), "µs", "Redis CPU per SET, batches of 256; median of \(setCosts.count)")
            let set = max(median(setCosts), 0.001)
            let floor = median(floorCosts), minimal = median(minimalCosts), drain = median(drainCosts), replay = median(replayCosts)
            let perTransaction = Double(recorded.floor.count) / Double(max(recorded.transactions, 1))
            table.add(
                "floor: the drain's commands, native", String(format: "%.1f", floor), "µs",
                String(format: "%.1f SETs' worth; %.1f commands per transaction, recorded from a drain of %d, functions replaced by what they ran (%d error replies); median of %d",
                       floor / set, perTransaction, recorded.transactions, floorErrors, floorCosts.count))
            table.add(
                "FraudStream's commands replayed", String(format: "%.1f", replay), "µs",
                String(format: "%.1f SETs' worth; %.2f× the floor (target ≤ 1.3×); the same drain's own commands (%d error replies)",
                       replay / set, replay / max(floor, 0.001), replayErrors))
            table.add(
                "minimal floor: 14 native commands", String(format: "%.1f", minimal), "µs",
                String(format: "%.1f SETs' worth; the least one transaction needs, 256 transactions a pipeline; median of %d", minimal / set, minimalCosts.count))
            table.add(
                "FraudStream drain, Redis per transaction", String(format: "%.1f", drain), "µs",
                String(format: "%.1f SETs' worth; %.2f× the floor, %.2f× the minimal floor; median of %d",
                       drain / set, drain / max(floor, 0.001), drain / max(minimal, 0.001), drainCosts.count))
            for function in recorded.functions where function.callsPerTransaction >= 0.001 {
                let costs = functionCosts[function.name] ?? []
                let called = median(costs.map(\.called)), native = median(costs.map(\.native))
                table.add(
                    "  Lua of \(function.name)", String(format: "%.1f", called - native), "µs/tx",
                    String(format: "%.2f calls per transaction; the drain's native commands with its calls %.1f µs, with what they ran instead %.1f µs (%d error replies)",
                           function.callsPerTransaction, called, native, functionErrors[function.name] ?? 0))
            }
            for cost in floorCommands.filter({ $0.callsPerTransaction >= 0.1 && $0.command != "info" && $0.command != "config" })
                .sorted(by: { $0.microsecondsPerTransaction > $1.microsecondsPerTransaction })
            {
                table.add(
                    "  floor \(cost.command)", String(format: "%.2f", cost.microsecondsPerTransaction), "µs/tx",
                    String(format: "%.2f calls per transaction (INFO commandstats of the replay)", cost.callsPerTransaction))
            }
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    /// Redis CPU per pipelined `SET`.
    private func setMicroseconds() async throws -> Double {
        let redis = try await RedisConnection.connect(configuration, name: "bench-floor")
        let count = 200_000
        let before = try await CPUMeter.read(redis)
        var start = 0
        while start < count {
            let end = min(count, start + 256)
            for reply in try await redis.pipeline((start..<end).map { RedisCommand("SET", "\(namespace):floor:set:\($0)", "x") }) { _ = try reply.get() }
            start = end
        }
        let after = try await CPUMeter.read(redis)
        try await Keyspace(namespace: namespace).delete(try await Keyspace(namespace: namespace).keys(matching: "\(namespace):floor:*", on: redis), on: redis)
        return (after.redisMicroseconds - before.redisMicroseconds) / Double(count)
    }

    /// Redis CPU per transaction of the native commands, over the drain's traffic (the state the drain left).
    private func floorMicroseconds() async throws -> (microseconds: Double, commands: [(command: String, callsPerTransaction: Double, microsecondsPerTransaction: Double)]) {
        let redis = try await RedisConnection.connect(configuration, name: "bench-floor")
        var worldConfiguration = WorldConfiguration()
        worldConfiguration.users = users
        worldConfiguration.days = 7
        worldConfiguration.seed = 11
        var synthesizer = TrafficSynthesizer(world: WorldGenerator.generate(worldConfiguration), seed: 5, fraudRatio: 0.02, runId: "bench-floor")
        let keys = FeatureKeys(namespace: namespace)
        let results = "\(namespace):floor:results"
        let base = Int64(Date().timeIntervalSince1970 * 1000)
        let before = try await CPUMeter.read(redis)
        var start = 0
        while start < transactions {
            let end = min(transactions, start + 256)
            var commands: [RedisCommand] = []
            commands.reserveCapacity((end - start) * 15)
            for index in start..<end {
                let transaction = synthesizer.next(timestampMilliseconds: base + Int64(index))
                let user = transaction.userId, time = transaction.timestampMilliseconds
                let window = keys.window(user)
                commands.append(RedisCommand("HMGET", keys.profile(user), "home_lat", "home_lon", "preferred_card", "typical_spend", "state"))
                commands.append(RedisCommand("ZADD", window, "NX", time, transaction.transactionId))
                commands.append(RedisCommand("ZCOUNT", window, time - 60_000, time))
                commands.append(RedisCommand("ZCOUNT", window, time - 3_600_000, time))
                commands.append(RedisCommand("ZCOUNT", window, time - 86_400_000, time))
                commands.append(RedisCommand("HSET", keys.profile(user), "floor_state", String(repeating: "s", count: 57)))
                commands.append(RedisCommand("ZADD", keys.devices(user), time, transaction.deviceId ?? "none"))
                commands.append(RedisCommand("BITFIELD", keys.countMin(user), "OVERFLOW", "SAT", "INCRBY", "u16", "#\(abs(transaction.merchantId.hashValue) % 1_024)", 1))
                commands.append(RedisCommand("PFADD", keys.merchantSlot(user, Int(time / 600_000) % 6), transaction.merchantId))
                commands.append(RedisCommand("PFCOUNT", keys.merchantSlot(user, Int(time / 600_000) % 6)))
                let device = keys.deviceEvents(transaction.deviceId ?? "none")
                commands.append(RedisCommand("ZADD", device, time, transaction.transactionId))
                commands.append(RedisCommand("ZCOUNT", device, time - 5_000, time))
                commands.append(RedisCommand("GETBIT", keys.ipBlocklistCounters, abs((transaction.ip ?? "").hashValue) % 1_000_000))
                commands.append(RedisCommand(
                    "XADD", results, "*", "transaction_id", transaction.transactionId, "user_id", user, "score", "0.123456", "decision", "approve",
                    "reasons", "", "model_version", "1", "latency_ms", "1.000", "amount", transaction.amount))
            }
            for reply in try await redis.pipeline(commands) { _ = try reply.get() }
            start = end
        }
        let after = try await CPUMeter.read(redis)
        _ = try await redis.send(RedisCommand("DEL", results))
        return ((after.redisMicroseconds - before.redisMicroseconds) / Double(transactions),
                CPUMeter.commandCosts(from: before, to: after, transactions: transactions))
    }
}
