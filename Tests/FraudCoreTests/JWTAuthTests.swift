import Foundation
import FraudServer
import JWTKit
import RedisHarness
import Testing

@testable import FraudCore

/// Bearer JWTs (OIDC) beside API keys, against a real server: tokens signed by a key of a JWKS file, with the
/// issuer, audience, expiry and scope claim checked.
@Suite("Scoring API with bearer JWTs against a real redis-server")
struct JWTAuthTests {
    struct Token: JWTPayload {
        var sub: String
        var iss: String
        var aud: [String]
        var exp: Double
        var scope: String

        func verify(using _: some JWTAlgorithm) throws {}
    }

    @Test func tokensFromTheConfiguredIssuerGrantTheirScopes() async throws {
        let privateKey = ES256PrivateKey()
        let parameters = try #require(privateKey.publicKey.parameters)
        let jwks = """
            {"keys": [{"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "bank-1", "x": "\(parameters.x)", "y": "\(parameters.y)"}]}
            """
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("jwks.json").path
        try jwks.write(toFile: file, atomically: true, encoding: .utf8)
        let signer = JWTKeyCollection()
        await signer.add(ecdsa: privateKey, kid: "bank-1")
        let other = JWTKeyCollection()
        await other.add(ecdsa: ES256PrivateKey(), kid: "bank-1")
        await other.add(hmac: "an HMAC secret a server must never accept 0123456789", digestAlgorithm: .sha256, kid: "hs")
        let later = Date().timeIntervalSince1970 + 3_600
        func token(
            _ subject: String, scope: String, issuer: String = "https://idp.bank.example", audience: String = "fraudstream",
            expiry: Double = later, keys: JWTKeyCollection? = nil, kid: String = "bank-1"
        ) async throws -> String {
            try await (keys ?? signer).sign(Token(sub: subject, iss: issuer, aud: [audience], exp: expiry, scope: scope), kid: JWKIdentifier(string: kid))
        }
        try await ScoringAPIHarness.with(configure: {
            $0.jwksFile = file
            $0.jwtIssuer = "https://idp.bank.example"
            $0.jwtAudience = "fraudstream"
        }) { api in
            func status(_ credential: String, blocklisting ip: String? = nil) async throws -> Int {
                let client = try await api.connect(key: credential)
                let reply = if let ip {
                    try await client.request(.PUT, "/v1/blocklist/ip/\(ip)")
                } else {
                    try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("jwt-\(UUID().uuidString.prefix(6))", user: 2))
                }
                await client.close()
                return reply.status
            }
            #expect(try await status(try await token("payments-svc", scope: "score")) == 200)
            #expect(try await status(try await token("payments-svc", scope: "fraudstream:score read")) == 200)
            // Scope, issuer, audience, expiry, signer and algorithm.
            #expect(try await status(try await token("dash", scope: "read")) == 403)
            #expect(try await status(try await token("x", scope: "score", issuer: "https://evil.example")) == 401)
            #expect(try await status(try await token("x", scope: "score", audience: "another-app")) == 401)
            #expect(try await status(try await token("x", scope: "score", expiry: Date().timeIntervalSince1970 - 60)) == 401)
            #expect(try await status(try await token("x", scope: "score", keys: other)) == 401)
            #expect(try await status(try await token("x", scope: "score", keys: other, kid: "hs")) == 401)
            #expect(try await status("not.a.token") == 401)
            // The token's subject is the actor of what it changes; API keys still work beside tokens.
            #expect(try await status(try await token("ops-alice", scope: "admin"), blocklisting: "203.0.113.55") == 200)
            let audit = try await AuditLog(namespace: "fraud").list(action: "blocklist.add", on: api.redis)
            #expect(audit.last?.actor == "jwt:ops-alice", "\(audit)")
            #expect(try await status(api.apiKey) == 200)
        }
    }

    struct RoleToken: JWTPayload {
        var sub: String
        var iss: String
        var aud: [String]
        var exp: Double
        var roles: [String]

        func verify(using _: some JWTAlgorithm) throws {}
    }

    /// RS256 (a 2048-bit RSA key made by openssl), with the scopes in another claim (`--jwt-scope-claim roles`, an array).
    @Test func anRS256TokenWithItsScopesInAnotherClaim() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-rs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // An RSA 2048 key openssl made (the test certificates' client key).
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let privateKey = try Insecure.RSA.PrivateKey(pem: try String(contentsOfFile: certificates.clientKey, encoding: .utf8))
        let primitives = try privateKey.publicKey.getKeyPrimitives()
        func base64url(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let jwks = """
            {"keys": [{"kty": "RSA", "alg": "RS256", "kid": "bank-rsa", "n": "\(base64url(primitives.modulus))", "e": "\(base64url(primitives.publicExponent))"}]}
            """
        let file = folder.appendingPathComponent("jwks.json").path
        try jwks.write(toFile: file, atomically: true, encoding: .utf8)
        let signer = JWTKeyCollection()
        await signer.add(rsa: privateKey, digestAlgorithm: .sha256, kid: "bank-rsa")
        func token(_ roles: [String]) async throws -> String {
            try await signer.sign(
                RoleToken(sub: "svc", iss: "https://idp.bank.example", aud: ["fraudstream"], exp: Date().timeIntervalSince1970 + 3_600, roles: roles),
                kid: JWKIdentifier(string: "bank-rsa"))
        }
        try await ScoringAPIHarness.with(configure: {
            $0.jwksFile = file
            $0.jwtIssuer = "https://idp.bank.example"
            $0.jwtAudience = "fraudstream"
            $0.jwtScopeClaim = "roles"
        }) { api in
            func status(_ credential: String) async throws -> Int {
                let client = try await api.connect(key: credential)
                let reply = try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("rs-\(UUID().uuidString.prefix(6))", user: 2))
                await client.close()
                return reply.status
            }
            let scored = try await status(try await token(["score"]))
            let reader = try await status(try await token(["read"]))
            #expect(scored == 200 && reader == 403, "\(scored) \(reader)")
        }
    }

    @Test func aJWKSWithoutIssuerAndAudienceIsRefusedInOneLine() async throws {
        let bad = try await FraudStreamBinary.run(["serve", "--jwks", "/nonexistent.json", "--port", "0"])
        #expect(bad.status == 64 && bad.standardError.contains("--jwt-issuer and --jwt-audience"), "\(bad.standardError)")
    }
}
