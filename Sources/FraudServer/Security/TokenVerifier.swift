import FraudCore
import Foundation
import JWTKit

/// Bearer JWTs from an identity provider a bank already runs (OIDC), beside API keys: RS256 or ES256 signatures
/// checked against a JWKS file, the issuer and the audience checked, an expiry required, and a claim (default `scope`)
/// mapped to the API's scopes: `score`, `read`, `admin`, or the same prefixed `fraudstream:` (a space-separated string
/// or an array).
public struct TokenVerifier: Sendable {
    /// What a verified token grants.
    public struct Grant: Sendable, Equatable {
        /// `jwt:<sub>`.
        public var actor: String
        public var scopes: Set<APIScope>
    }

    /// The token's claims, whatever they are (the scope claim's name is a setting).
    struct Claims: JWTPayload {
        var values: [String: ClaimValue]

        enum ClaimValue: Codable, Sendable {
            case text(String)
            case number(Double)
            case list([String])
            case other

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) {
                    self = .text(text)
                } else if let number = try? container.decode(Double.self) {
                    self = .number(number)
                } else if let list = try? container.decode([String].self) {
                    self = .list(list)
                } else {
                    self = .other
                }
            }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                switch self {
                case .text(let text): try container.encode(text)
                case .number(let number): try container.encode(number)
                case .list(let list): try container.encode(list)
                case .other: try container.encodeNil()
                }
            }

            var strings: [String] {
                switch self {
                case .text(let text): text.split(separator: " ").map(String.init)
                case .list(let list): list
                default: []
                }
            }
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            var values: [String: ClaimValue] = [:]
            for key in container.allKeys { values[key.stringValue] = try container.decode(ClaimValue.self, forKey: key) }
            self.values = values
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (name, value) in values { try container.encode(value, forKey: Key(stringValue: name)) }
        }

        /// The expiry is required and checked here, with the signature; issuer, audience and scopes by the verifier.
        func verify(using _: some JWTAlgorithm) throws {
            guard case .number(let expiry)? = values["exp"] else { throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "no exp") }
            guard expiry > Date().timeIntervalSince1970 else { throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "expired") }
        }
    }

    let keys: JWTKeyCollection
    let issuer: String
    let audience: String
    let scopeClaim: String

    /// Loads the JWKS file; throws a readable error for a missing or malformed one.
    public static func load(jwksFile: String, issuer: String, audience: String, scopeClaim: String) async throws -> TokenVerifier {
        guard let data = FileManager.default.contents(atPath: jwksFile) else {
            throw FraudError(.invalidSetting, "cannot read the JWKS file \(jwksFile)")
        }
        let keys = JWTKeyCollection()
        do {
            try await keys.add(jwksJSON: String(decoding: data, as: UTF8.self))
        } catch {
            throw FraudError(.invalidSetting, "the JWKS file \(jwksFile) is not a JSON Web Key Set: \(error)")
        }
        return TokenVerifier(keys: keys, issuer: issuer, audience: audience, scopeClaim: scopeClaim)
    }

    /// The grant of a valid token, nil for anything else (a bad signature, algorithm, issuer, audience or expiry).
    public func verify(_ token: String) async -> Grant? {
        // Only RS256 and ES256: never `none`, never an HMAC key confused with a public one.
        guard let header = token.split(separator: ".").first, let decoded = Data(base64URLEncoded: String(header)),
            let object = try? JSONSerialization.jsonObject(with: decoded) as? [String: Any], let algorithm = object["alg"] as? String,
            ["RS256", "ES256"].contains(algorithm)
        else { return nil }
        guard let claims = try? await keys.verify(token, as: Claims.self) else { return nil }
        guard case .text(let tokenIssuer)? = claims.values["iss"], tokenIssuer == issuer else { return nil }
        let audiences = claims.values["aud"]?.strings ?? []
        guard audiences.contains(audience) else { return nil }
        guard case .text(let subject)? = claims.values["sub"], !subject.isEmpty else { return nil }
        let scopes = Set((claims.values[scopeClaim]?.strings ?? []).compactMap { value in
            APIScope(rawValue: value.hasPrefix("fraudstream:") ? String(value.dropFirst("fraudstream:".count)) : value)
        })
        return Grant(actor: "jwt:\(subject)", scopes: scopes)
    }
}

extension Data {
    /// Base64url without padding, as JWTs carry it.
    init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        self.init(base64Encoded: base64)
    }
}
