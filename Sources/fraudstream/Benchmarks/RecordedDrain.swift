import FraudCore
import Foundation
import RedisClient
import RedisHarness

/// What one drain asked of Redis, recorded with `MONITOR` on a private server, and the state it started from: the floor
/// that follows whatever the functions do (the built-in features, a feature set's entity calls, the record).
///
/// `MONITOR` prints every command a client sent and, marked `[0 lua]`, every command a function ran inside one. Replayed
/// on a copy of the state the drain started from (an RDB `SAVE`d just before it), pipelined from one connection in the
/// order the server ran them:
/// - ``sent``, the worker's commands (its `FCALL`s, claims, reads), costs what the drain cost (a check of the replay);
/// - ``floor``, the same with each `FCALL` replaced by the commands its function ran, sent as native commands, costs
///   what the same data work costs without Lua. It has no atomicity and no idempotency of its own: it is what the
///   commands cost alone;
/// - ``sent(replacing:)``, only one function's calls replaced, says what that function's Lua costs.
struct RecordedDrain {
    /// One command the worker sent, the function it called (`FCALL`), and the commands that function ran.
    struct Step {
        var command: RedisCommand
        var function: String?
        var ran: [RedisCommand] = []
    }

    /// The worker's commands in the order the server ran them (introspection such as `INFO` and `CLIENT` left out, and
    /// `BLOCK` taken out of `XREADGROUP`, so a replay never waits).
    var steps: [Step] = []
    /// Transactions the drain decided.
    var transactions = 0
    /// The RDB of the state the drain started from.
    var snapshot: URL?

    /// What the worker sent.
    var sent: [RedisCommand] { steps.map(\.command) }
    /// What the worker sent, each function call replaced by the commands it ran.
    var floor: [RedisCommand] { steps.flatMap { $0.function == nil ? [$0.command] : $0.ran } }
    /// The commands of calls to `function` replaced by what they ran; other functions' calls left out.
    func sent(replacing function: String) -> [RedisCommand] {
        steps.flatMap { $0.function == nil ? [$0.command] : $0.function == function ? $0.ran : [] }
    }
    /// Calls to `function` only, with the worker's other native commands; other functions' calls left out.
    func sent(only function: String) -> [RedisCommand] {
        steps.flatMap { $0.function == nil || $0.function == function ? [$0.command] : [] }
    }
    /// The functions called, by calls per transaction, most first.
    var functions: [(name: String, callsPerTransaction: Double)] {
        var calls: [String: Int] = [:]
        for step in steps { if let function = step.function { calls[function, default: 0] += 1 } }
        return calls.map { ($0.key, Double($0.value) / Double(max(transactions, 1))) }.sorted { $0.callsPerTransaction > $1.callsPerTransaction }
    }

    /// Commands a replay leaves out: introspection and connection set-up, not data work.
    static let notReplayed: Set<String> = [
        "MONITOR", "INFO", "CLIENT", "CONFIG", "FUNCTION", "SAVE", "PING", "HELLO", "SELECT", "AUTH", "COMMAND", "CLUSTER",
        "DEBUG", "XINFO", "XLEN", "SCAN", "KEYS", "TYPE", "MEMORY", "SLOWLOG", "READONLY", "QUIT", "RESET", "ECHO",
    ]

    /// Records a drain of `drain.transactions` on a private server (`server`), from the state `sample` loads.
    static func record(_ drain: DrainBenchmark, on server: RedisServer, model: inout ModelRecord?) async throws -> RecordedDrain {
        let output = server.directory.appendingPathComponent("monitor.txt")
        let snapshot = server.directory.appendingPathComponent("before-drain.rdb")
        let monitor = Process()
        var scratch = BenchTable()
        let sample = try await drain.sample(model: &model, table: &scratch) { redis in
            _ = try await redis.send(RedisCommand("SAVE"))
            try? FileManager.default.removeItem(at: snapshot)
            try FileManager.default.copyItem(at: server.directory.appendingPathComponent("dump.rdb"), to: snapshot)
            FileManager.default.createFile(atPath: output.path, contents: nil)
            // Line-buffered (`stdbuf -oL`), so every line the server sent is in the file when it is stopped.
            monitor.executableURL = URL(fileURLWithPath: "/usr/bin/stdbuf")
            monitor.arguments = ["-oL", try RedisServer.locate("redis-cli"), "-h", "127.0.0.1", "-p", String(server.port)]
                + (server.password.map { ["-a", $0, "--no-auth-warning"] } ?? []) + ["monitor"]
            monitor.standardOutput = try FileHandle(forWritingTo: output)
            try monitor.run()
            // Recording starts once the server lists the monitor.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await !(redis.send(RedisCommand("CLIENT", "LIST")).string ?? "").contains("cmd=monitor") {
                guard ContinuousClock.now < deadline else { throw FraudError(.failedCheck, "redis-cli monitor did not start") }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        // Everything up to a marker is recorded; then the recorder is killed (SIGKILL: the bench's own signal handling
        // leaves SIGTERM ignored in the processes it starts).
        let redis = try await RedisConnection.connect(server.configuration, name: "bench-record")
        let marker = "fraudstream-recording-ends-\(UUID().uuidString)"
        _ = try await redis.send(RedisCommand("ECHO", marker))
        let deadline = ContinuousClock.now + .seconds(60)
        while !(try Self.tail(of: output).contains(marker)) {
            guard ContinuousClock.now < deadline else {
                kill(monitor.processIdentifier, SIGKILL)
                throw FraudError(.failedCheck, "redis-cli monitor did not record the drain's end")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(monitor.processIdentifier, SIGKILL)
        await onOwnThread { monitor.waitUntilExit() }
        var recorded = try parse(Data(contentsOf: output))
        recorded.transactions = sample.results
        recorded.snapshot = snapshot
        try? FileManager.default.removeItem(at: output)
        return recorded
    }

    /// The last 64 KiB of a file, as text.
    static func tail(of file: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size > 65_536 ? size - 65_536 : 0)
        return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    }

    /// The commands of `MONITOR`'s output (`<time> [<db> <client>] "NAME" "arg" …`, arguments quoted and escaped).
    static func parse(_ data: Data) throws -> RecordedDrain {
        var recorded = RecordedDrain()
        let bytes = [UInt8](data)
        var lineStart = 0
        // Whether the commands a function runs belong to the last step (it was an FCALL).
        var inCall = false
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count && bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            if let (inFunction, arguments) = parseLine(bytes[lineStart..<lineEnd]), let first = arguments.first {
                let name = String(decoding: first, as: UTF8.self).uppercased()
                if inFunction {
                    if inCall { recorded.steps[recorded.steps.count - 1].ran.append(command(name, Array(arguments.dropFirst()))) }
                } else if !notReplayed.contains(name) {
                    var rest = Array(arguments.dropFirst())
                    if name == "XREADGROUP", let block = rest.firstIndex(where: { String(decoding: $0, as: UTF8.self).uppercased() == "BLOCK" }),
                        block + 1 < rest.count
                    {
                        rest.removeSubrange(block...(block + 1))
                    }
                    let function = name.hasPrefix("FCALL") ? rest.first.map { String(decoding: $0, as: UTF8.self) } : nil
                    recorded.steps.append(Step(command: command(name, rest), function: function))
                    inCall = function != nil
                } else {
                    inCall = false
                }
            }
            lineStart = lineEnd + 1
        }
        return recorded
    }

    private static func command(_ name: String, _ arguments: [[UInt8]]) -> RedisCommand {
        var command = RedisCommand(name)
        for argument in arguments { command.append(bytes: argument) }
        return command
    }

    /// One line: whether a function ran it, and its words (unescaped: `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\xHH`).
    static func parseLine(_ line: ArraySlice<UInt8>) -> (inFunction: Bool, arguments: [[UInt8]])? {
        guard let open = line.firstIndex(of: UInt8(ascii: "[")), let close = line[open...].firstIndex(of: UInt8(ascii: "]")) else { return nil }
        let client = line[open..<close].split(separator: UInt8(ascii: " ")).last.map { String(decoding: $0, as: UTF8.self) }
        var arguments: [[UInt8]] = []
        var index = close + 1
        while index < line.endIndex {
            guard line[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            index += 1
            var word: [UInt8] = []
            while index < line.endIndex && line[index] != UInt8(ascii: "\"") {
                let byte = line[index]
                guard byte == UInt8(ascii: "\\"), index + 1 < line.endIndex else {
                    word.append(byte)
                    index += 1
                    continue
                }
                let escaped = line[index + 1]
                switch escaped {
                case UInt8(ascii: "n"): word.append(10)
                case UInt8(ascii: "r"): word.append(13)
                case UInt8(ascii: "t"): word.append(9)
                case UInt8(ascii: "a"): word.append(7)
                case UInt8(ascii: "b"): word.append(8)
                case UInt8(ascii: "x") where index + 3 < line.endIndex:
                    if let value = UInt8(String(decoding: line[(index + 2)...(index + 3)], as: UTF8.self), radix: 16) { word.append(value) }
                    index += 4
                    continue
                default: word.append(escaped)
                }
                index += 2
            }
            arguments.append(word)
            index += 1
        }
        return (client == "lua", arguments)
    }

    /// Redis CPU per transaction of `commands` replayed on the recorded state: `server` is restarted from the snapshot,
    /// then the commands go pipelined, 512 at a time, from one connection. Error replies (a command that depended on
    /// a function's context) are counted, not fatal.
    func replay(_ commands: [RedisCommand], on server: RedisServer) async throws -> (microseconds: Double, errors: Int, commands: [(command: String, callsPerTransaction: Double, microsecondsPerTransaction: Double)]) {
        guard let snapshot else { throw FraudError(.failedCheck, "no snapshot recorded") }
        await server.stop(keepDirectory: true)
        let dump = server.directory.appendingPathComponent("dump.rdb")
        try? FileManager.default.removeItem(at: dump)
        try FileManager.default.copyItem(at: snapshot, to: dump)
        try await server.restart()
        let redis = try await RedisConnection.connect(server.configuration, name: "bench-replay")
        // The server answers INFO while it loads the snapshot, and -LOADING to everything else.
        let deadline = ContinuousClock.now + .seconds(120)
        while try await (redis.send(RedisCommand("INFO", "persistence")).string ?? "").contains("loading:1") {
            guard ContinuousClock.now < deadline else { throw FraudError(.failedCheck, "the replay server did not load its snapshot") }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = try await redis.send(RedisCommand("CONFIG", "RESETSTAT"))
        let before = try await CPUMeter.read(redis)
        var errors = 0
        var start = 0
        while start < commands.count {
            let end = min(commands.count, start + 512)
            for reply in try await redis.pipeline(Array(commands[start..<end])) {
                if case .error = reply { errors += 1 }
            }
            start = end
        }
        let after = try await CPUMeter.read(redis)
        let count = max(transactions, 1)
        return ((after.redisMicroseconds - before.redisMicroseconds) / Double(count), errors,
                CPUMeter.commandCosts(from: before, to: after, transactions: count))
    }
}
