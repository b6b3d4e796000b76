import Foundation
import FraudServer
import NIOSSL
import Testing

@testable import FraudCore

/// `fraudstream serve` over HTTPS, and with client certificates (mutual TLS), against a real redis-server, with a CA,
/// a server and a client certificate the test makes with openssl.
@Suite("Scoring API over HTTPS against a real redis-server")
struct HTTPSTests {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate, in a temporary directory.
    struct Certificates {
        let directory: URL
        var ca: String { directory.appendingPathComponent("ca.pem").path }
        var serverCertificate: String { directory.appendingPathComponent("server.pem").path }
        var serverKey: String { directory.appendingPathComponent("server.key").path }
        var clientCertificate: String { directory.appendingPathComponent("client.pem").path }
        var clientKey: String { directory.appendingPathComponent("client.key").path }

        /// Made on a thread of their own (openssl is waited for).
        static func make() async throws -> Certificates {
            try await offThePool { try makeBlocking() }
        }

        static func makeBlocking() throws -> Certificates {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraudstream-tls-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try "subjectAltName=IP:127.0.0.1\n".write(to: directory.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
            for arguments in [
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=fraudstream-test-ca"],
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
                try process.run()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw FraudError(.failedCheck, "openssl \(arguments.joined(separator: " ")) failed") }
            }
            return Certificates(directory: directory)
        }

        func client(withCertificate: Bool) throws -> TLSConfiguration {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            tls.certificateVerification = .noHostnameVerification
            if withCertificate {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientCertificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
            }
            return tls
        }
    }

    @Test func httpsAnswersAndPlainHTTPDoesNot() async throws {
        let certificates = try await Certificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await ScoringAPIHarness.with(configure: {
            $0.tlsCertificate = certificates.serverCertificate
            $0.tlsKey = certificates.serverKey
        }) { api in
            let secure = try await HTTPConnection.connect(
                host: "127.0.0.1", port: api.port, headers: [("Authorization", "Bearer \(api.apiKey)")], tls: try certificates.client(withCertificate: false))
            #expect(try await secure.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("tls-1", user: 3)).status == 200)
            await secure.close()
            // Plain HTTP to the HTTPS port gets no answer.
            let plain = try await api.connect()
            let reply = try? await plain.request(.GET, "/healthz")
            #expect(reply == nil || reply?.status != 200)
            await plain.close()
        }
    }

    @Test func mutualTLSRequiresAClientCertificateFromTheCA() async throws {
        let certificates = try await Certificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        try await ScoringAPIHarness.with(configure: {
            $0.tlsCertificate = certificates.serverCertificate
            $0.tlsKey = certificates.serverKey
            $0.tlsClientCA = certificates.ca
        }) { api in
            let withCertificate = try await HTTPConnection.connect(
                host: "127.0.0.1", port: api.port, headers: [("Authorization", "Bearer \(api.apiKey)")], tls: try certificates.client(withCertificate: true))
            #expect(try await withCertificate.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("mtls-1", user: 3)).status == 200)
            await withCertificate.close()
            // Without a client certificate the handshake fails: no answer.
            let without = try? await HTTPConnection.connect(
                host: "127.0.0.1", port: api.port, headers: [("Authorization", "Bearer \(api.apiKey)")], tls: try certificates.client(withCertificate: false))
            let reply = try? await without?.request(.GET, "/healthz")
            #expect(reply == nil, "answered without a client certificate: \(reply?.status ?? 0)")
            await without?.close()
        }
    }

    @Test func badTLSSettingsAreOneLine() async throws {
        let half = try await FraudStreamBinary.run(["serve", "--tls-cert", "/nonexistent.pem", "--port", "0"])
        #expect(half.status == 64 && half.standardError.contains("--tls-cert and --tls-key go together"), "\(half.standardError)")
    }
}
