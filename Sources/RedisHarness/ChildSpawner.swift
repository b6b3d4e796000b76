import Foundation

/// Starts child processes for tests and benchmarks with `posix_spawn`: stdin from `/dev/null`, stdout
/// and stderr to files (or `/dev/null`), and the signal mask and SIGINT/SIGTERM/SIGPIPE dispositions
/// reset. Threads of the test runner block or ignore some signals, and a child must not inherit that,
/// or SIGTERM is ignored.
public enum ChildSpawner {
    /// A child that could not be started.
    public struct SpawnError: Error, CustomStringConvertible {
        /// What failed, for people.
        public let description: String
    }

    /// Starts `executable` with `arguments` and `environment` (`nil`: this process's) and returns its pid.
    public static func spawn(
        _ executable: String, arguments: [String], environment: [String: String]? = nil,
        standardOutput: String = "/dev/null", standardError: String = "/dev/null"
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of this process is inherited: a test holding thousands of sockets would hand them all to the
        // child (PostgreSQL refuses to start when its inherited descriptors leave too few free).
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptySet = sigset_t()
        sigemptyset(&emptySet)
        posix_spawnattr_setsigmask(&attributes, &emptySet)
        var defaultSet = sigset_t()
        sigemptyset(&defaultSet)
        for signal in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaultSet, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSet)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in argv + (envp ?? []) { free(pointer) } }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        ChildRegistry.shared.register(pid)
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; Swift's Glibc module does not declare it).
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Forgets a child that has been reaped, so a later sweep never signals a pid the kernel may reuse.
    public static func forget(_ pid: pid_t) {
        ChildRegistry.shared.forget(pid)
    }
}

/// A pidfile per child in a shared folder (`<tmp>/fraudstream-children/<owner pid>-<child pid>`), so children
/// a crashed test process never stopped are found and killed by the next one: each spawn first sweeps the
/// entries whose owner is gone. `make test` also runs each phase in a process group of its own and kills what
/// is left of it (`.ci/in-process-group`); this covers `swift test` run by hand.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    private let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-children").path
    private let owner = getpid()
    private let lock = NSLock()
    private var swept = false

    func register(_ child: pid_t) {
        lock.withLock {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if !swept {
                swept = true
                sweep()
            }
            _ = FileManager.default.createFile(atPath: "\(folder)/\(owner)-\(child)", contents: Data())
        }
    }

    func forget(_ child: pid_t) {
        lock.withLock { _ = unlink("\(folder)/\(owner)-\(child)") }
    }

    /// Kills the children of owners that no longer run, when they are still one of ours (by command line).
    private func sweep() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let parts = name.split(separator: "-")
            guard parts.count == 2, let ownerPid = pid_t(parts[0]), let childPid = pid_t(parts[1]) else { continue }
            guard ownerPid != owner, kill(ownerPid, 0) != 0, errno == ESRCH else { continue }
            let commandLine = (try? String(contentsOfFile: "/proc/\(childPid)/cmdline", encoding: .utf8)) ?? ""
            if ["redis-server", "valkey-server", "fraudstream", "redis-cli"].contains(where: { commandLine.contains($0) }) {
                kill(childPid, SIGKILL)
            }
            unlink("\(folder)/\(name)")
        }
    }
}
