import Foundation

/// A private PostgreSQL for tests, benchmarks and `make postgres`: Debian's `postgresql` binaries, a cluster made with
/// `initdb` in its own temporary directory, its own free port on 127.0.0.1, trust authentication for the user
/// `fraudstream`, stopped (and its directory removed) by ``stop()``. PostgreSQL refuses to run as root, so as root the
/// cluster belongs to the `postgres` account and its programs run under it (`setpriv`, which execs, so the pid is the
/// server's own).
public final class PostgresServer: @unchecked Sendable {
    /// Why a server could not be started.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// Its cluster directory (data, socket, log).
    public let directory: URL
    private let binaries: String
    private let lock = NSLock()
    private var processID: pid_t?

    /// The database and user the cluster is made with.
    public static let user = "fraudstream"
    public static let database = "fraudstream"

    /// `postgres://fraudstream@127.0.0.1:<port>/fraudstream`.
    public var url: String { "postgres://\(Self.user)@127.0.0.1:\(port)/\(Self.database)" }

    /// The server's process id while it runs.
    public var processIdentifier: pid_t? { lock.withLock { processID } }

    private init(port: Int, directory: URL, binaries: String) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
    }

    /// The folder of `initdb` and `postgres`: `FRAUDSTREAM_POSTGRES_BIN_DIR`, else Debian's newest
    /// `/usr/lib/postgresql/<version>/bin`.
    public static func locateBinaries() throws -> String {
        if let folder = ProcessInfo.processInfo.environment["FRAUDSTREAM_POSTGRES_BIN_DIR"], !folder.isEmpty { return folder }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        guard let newest = versions.last, FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/initdb") else {
            throw StartError(description: "PostgreSQL is not installed (apt-get install postgresql, or set FRAUDSTREAM_POSTGRES_BIN_DIR)")
        }
        return "\(root)/\(newest)/bin"
    }

    /// Makes a cluster in a new temporary directory (or in `directory`, kept by ``stop()``) and starts it on a free port.
    public static func start(directory: URL? = nil, port: Int? = nil) async throws -> PostgresServer {
        let binaries = try locateBinaries()
        // As root, under /tmp: the `postgres` account must reach it, and $TMPDIR may be inside root's home.
        let base = getuid() == 0 ? URL(fileURLWithPath: "/tmp") : FileManager.default.temporaryDirectory
        let folder = directory ?? base.appendingPathComponent("fraudstream-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let server = PostgresServer(port: try port ?? RedisServer.freePort(), directory: folder, binaries: binaries)
        do {
            let made = try server.makeCluster()
            try await server.launch()
            if made { try server.run("createdb", ["-h", folder.path, "-p", String(server.port), "-U", user, database]) }
            return server
        } catch {
            await server.stop()
            throw error
        }
    }

    private var data: URL { directory.appendingPathComponent("data") }
    private var log: URL { directory.appendingPathComponent("postgres.log") }

    /// As root, every program runs as `postgres`, and the directory is theirs.
    private func command(_ program: String, _ arguments: [String]) -> (String, [String]) {
        guard getuid() == 0 else { return ("\(binaries)/\(program)", arguments) }
        return ("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", "\(binaries)/\(program)"] + arguments)
    }

    /// Runs one of PostgreSQL's programs to its end; a failure is its output's last lines.
    private func run(_ program: String, _ arguments: [String]) throws {
        let (executable, arguments) = command(program, arguments)
        let output = directory.appendingPathComponent("\(program).log").path
        let pid = try ChildSpawner.spawn(executable, arguments: arguments, standardOutput: output, standardError: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        ChildSpawner.forget(pid)
        guard status == 0 else {
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw StartError(description: "\(program) failed: \(text.split(separator: "\n").suffix(3).joined(separator: " | "))")
        }
    }

    /// Makes the cluster unless its directory has one; whether it made one.
    private func makeCluster() throws -> Bool {
        guard !FileManager.default.fileExists(atPath: data.appendingPathComponent("PG_VERSION").path) else { return false }
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw StartError(description: "running as root needs the 'postgres' account (Debian's postgresql package makes it)")
            }
            chown(directory.path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        try run("initdb", ["-D", data.path, "-U", Self.user, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
        return true
    }

    /// Starts (or starts again, after ``stopKeepingData()``) the server on its port and waits until it accepts connections.
    public func launch() async throws {
        let (executable, arguments) = command("postgres", [
            "-D", data.path, "-p", String(port), "-k", directory.path, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=50",
            "-c", "logging_collector=off",
        ])
        let pid = try ChildSpawner.spawn(executable, arguments: arguments, standardOutput: log.path, standardError: log.path)
        lock.withLock { processID = pid }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) != 0 { break }
            // Ready once the log says so and the port accepts connections.
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if text.contains("ready to accept connections") && Self.accepts(port: port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw StartError(description: "PostgreSQL on port \(port) did not start: \(text.split(separator: "\n").suffix(3).joined(separator: " | "))")
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Stops the server (fast shutdown: SIGINT) and keeps its data, to be started again with ``launch()``.
    public func stopKeepingData() async {
        guard let pid = lock.withLock({ () -> pid_t? in defer { processID = nil }; return processID }) else { return }
        kill(pid, SIGINT)
        let deadline = Date().addingTimeInterval(30)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }
        ChildSpawner.forget(pid)
    }

    /// Stops the server and removes its directory.
    public func stop() async {
        await stopKeepingData()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Runs `body` with a fresh private PostgreSQL and stops it afterwards, also when `body` throws.
public func withPostgresServer<T>(_ body: (PostgresServer) async throws -> T) async throws -> T {
    let server = try await PostgresServer.start()
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
