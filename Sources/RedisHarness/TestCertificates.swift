import Foundation

/// A CA, a server certificate (for `127.0.0.1` and `localhost`, or only for ``serverName``) and a client certificate
/// signed by it, made with `openssl` in a temporary directory: for a redis-server with TLS, and `serve` over HTTPS,
/// in tests and benchmarks.
public struct TestCertificates: Sendable {
    /// The directory that holds every file; ``remove()`` deletes it.
    public let directory: URL
    /// The only name the server certificate carries, when made with one (then it has no IP address entry, and a
    /// client must be told the name); `nil` for a certificate for `127.0.0.1` and `localhost`.
    public let serverName: String?
    public var ca: String { path("ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }
    /// A second CA, which signed none of these: a client that trusts only it must refuse the server.
    public var otherCA: String { path("other-ca.pem") }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Makes the files, on a thread of its own (openssl is waited for), never on the cooperative pool.
    public static func make(serverName: String? = nil) async throws -> TestCertificates {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try makeBlocking(serverName: serverName)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Makes the files, blocking the calling thread.
    public static func makeBlocking(serverName: String? = nil) throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try "subjectAltName=\(serverName.map { "DNS:\($0)" } ?? "IP:127.0.0.1,DNS:localhost")\n".write(to: directory.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=fraudstream-test-ca"],
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=another-ca"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
             "-extfile", "san.ext"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=payments-client"],
            ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2"],
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = directory
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
            } catch {
                throw RedisServer.StartError(description: "cannot run /usr/bin/openssl (apt-get install -y openssl, or `make deps`): \(error)")
            }
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw RedisServer.StartError(description: "openssl \(arguments.joined(separator: " ")) failed")
            }
        }
        return TestCertificates(directory: directory, serverName: serverName)
    }

    /// Deletes the files.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
