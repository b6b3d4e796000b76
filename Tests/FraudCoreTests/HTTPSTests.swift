import Foundation
import FraudServer
import NIOSSL
import RedisHarness
import Testing

@testable import FraudCore

/// `fraudstream serve` over HTTPS, and with client certificates (mutual TLS), against a real redis-server, with a CA,
/// a server and a client certificate the test makes with openssl.
@Suite("Scoring API over HTTPS against a real redis-server")
struct HTTPSTests {
    @Test func httpsAnswersAndPlainHTTPDoesNot() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
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
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
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

/// The client side of the harness's certificates, for swift-nio-ssl.
extension TestCertificates {
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
