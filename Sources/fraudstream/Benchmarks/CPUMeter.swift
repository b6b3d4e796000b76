import Foundation
import RedisClient

/// CPU time of Redis (`INFO cpu`) and of this process (`getrusage`), and Redis's per-command time
/// (`INFO commandstats`), read before and after a measured interval.
struct CPUMeter {
    /// User + system CPU time of process `pid` (all threads) in µs, from `/proc/<pid>/stat`; 0 when it is gone.
    static func processMicroseconds(_ pid: pid_t) -> Double {
        guard let (_, microseconds) = stat(pid) else { return 0 }
        return microseconds
    }

    /// The CPU time of `root` and of every process whose parent it is (PostgreSQL's postmaster and its backends), µs.
    static func processTreeMicroseconds(_ root: pid_t) -> Double {
        var total = processMicroseconds(root)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), pid != root, let (parent, microseconds) = stat(pid), parent == root else { continue }
            total += microseconds
        }
        return total
    }

    /// The parent and the user + system time (µs) of `pid`.
    private static func stat(_ pid: pid_t) -> (parent: pid_t, microseconds: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3, the parent 4; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let parent = pid_t(fields[1]), let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (parent, (user + system) / Double(sysconf(Int32(_SC_CLK_TCK))) * 1e6)
    }

    /// A reading.
    struct Reading {
        /// Redis's `used_cpu_user + used_cpu_sys`, µs (summed over the primaries of a cluster).
        var redisMicroseconds: Double
        /// The same per primary (one entry for a single server).
        var nodeMicroseconds: [Double]
        /// This process's user + system time, µs.
        var processMicroseconds: Double
        /// `INFO commandstats`: command → (calls, usec).
        var commands: [String: (calls: Double, microseconds: Double)]
    }

    /// `INFO cpu` and `INFO commandstats` of the server, or of every primary of a cluster, summed; and this
    /// process's CPU time.
    static func read(_ redis: RedisConnection) async throws -> Reading {
        var nodes: [Double] = []
        var commands: [String: (calls: Double, microseconds: Double)] = [:]
        for node in try await redis.primaryConnections() {
            let cpu = try await info(node, section: "cpu")
            nodes.append(((Double(cpu["used_cpu_user"] ?? "") ?? 0) + (Double(cpu["used_cpu_sys"] ?? "") ?? 0)) * 1e6)
            for (name, value) in try await info(node, section: "commandstats") where name.hasPrefix("cmdstat_") {
                var calls = 0.0
                var usec = 0.0
                for part in value.split(separator: ",") {
                    let pair = part.split(separator: "=")
                    guard pair.count == 2 else { continue }
                    if pair[0] == "calls" { calls = Double(pair[1]) ?? 0 }
                    if pair[0] == "usec" { usec = Double(pair[1]) ?? 0 }
                }
                let key = String(name.dropFirst("cmdstat_".count))
                let sum = commands[key] ?? (0, 0)
                commands[key] = (sum.calls + calls, sum.microseconds + usec)
            }
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let process = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        return Reading(redisMicroseconds: nodes.reduce(0, +), nodeMicroseconds: nodes, processMicroseconds: process, commands: commands)
    }

    /// `INFO <section>` as name → value.
    static func info(_ redis: RedisConnection, section: String) async throws -> [String: String] {
        let text = try await redis.send(RedisCommand("INFO", section)).string ?? ""
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            result[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return result
    }

    /// Per-command time between two readings, µs per transaction, largest first.
    static func commandCosts(from before: Reading, to after: Reading, transactions: Int) -> [(command: String, callsPerTransaction: Double, microsecondsPerTransaction: Double)] {
        after.commands.compactMap { name, value in
            let earlier = before.commands[name] ?? (0, 0)
            let calls = value.calls - earlier.calls
            let usec = value.microseconds - earlier.microseconds
            guard calls > 0 else { return nil }
            return (name, calls / Double(transactions), usec / Double(transactions))
        }.sorted { $0.microsecondsPerTransaction > $1.microsecondsPerTransaction }
    }
}
