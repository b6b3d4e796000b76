import Crypto
import FraudCore
import Foundation

/// A signed-in analyst: which API key signed in (its id, name and scopes as they were then; each request checks the
/// key is still current), and until when.
public struct ConsoleSession: Sendable, Equatable {
    /// The API key's id (`fsk_<id>_…`).
    public var keyId: String
    /// When the session ends, epoch ms.
    public var expiresMilliseconds: Int64
    /// Random, so two sessions of one key differ (and so do their CSRF tokens).
    public var nonce: String

    /// What is signed: `<key id>|<expiry>|<nonce>`.
    var payload: String { "\(keyId)|\(expiresMilliseconds)|\(nonce)" }
}

/// Signs and checks session cookies and CSRF tokens with one HMAC-SHA-256 key: `--session-key-file` (at least 32
/// bytes), or random per process (sessions then end when the console restarts).
public struct ConsoleSessionSigner: Sendable {
    private let key: SymmetricKey
    /// How long a session lasts after sign-in.
    public let lifetimeMilliseconds: Int64

    /// A signer with `secret` (at least 32 bytes).
    public init(secret: [UInt8], lifetimeMilliseconds: Int64 = 8 * 3_600_000) {
        key = SymmetricKey(data: secret)
        self.lifetimeMilliseconds = lifetimeMilliseconds
    }

    /// A signer with 32 random bytes.
    public static func random() -> ConsoleSessionSigner {
        ConsoleSessionSigner(secret: (0..<32).map { _ in UInt8.random(in: 0...255) })
    }

    /// A new session for `keyId`, starting now.
    public func newSession(keyId: String, now: Int64 = Self.nowMilliseconds) -> ConsoleSession {
        ConsoleSession(keyId: keyId, expiresMilliseconds: now + lifetimeMilliseconds, nonce: Self.hex((0..<16).map { _ in UInt8.random(in: 0...255) }))
    }

    /// The cookie value: `<payload as base64url>.<HMAC as hex>` (characters a cookie may hold).
    public func token(_ session: ConsoleSession) -> String {
        Self.base64url(Array(session.payload.utf8)) + "." + Self.hex(mac(session.payload))
    }

    /// The session a cookie value holds, nil when it is not one this signer made, or it has expired.
    public func session(fromToken token: String, now: Int64 = Self.nowMilliseconds) -> ConsoleSession? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payloadBytes = Self.bytes(base64url: String(parts[0])), let signature = Self.bytes(hex: String(parts[1])) else {
            return nil
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payloadBytes, using: key) else { return nil }
        let fields = String(decoding: payloadBytes, as: UTF8.self).split(separator: "|", omittingEmptySubsequences: false)
        guard fields.count == 3, let expires = Int64(fields[1]), expires > now else { return nil }
        return ConsoleSession(keyId: String(fields[0]), expiresMilliseconds: expires, nonce: String(fields[2]))
    }

    /// The session's CSRF token, which every form carries: an HMAC of the session, so it cannot be made without the
    /// key and differs per session.
    public func csrfToken(_ session: ConsoleSession) -> String { Self.hex(mac("csrf|" + session.payload)) }

    /// Whether `token` is the session's CSRF token (compared in constant time).
    public func isValidCSRF(_ token: String, for session: ConsoleSession) -> Bool {
        guard let given = Self.bytes(hex: token) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array(("csrf|" + session.payload).utf8), using: key)
    }

    private func mac(_ text: String) -> [UInt8] { Array(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key)) }

    public static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func bytes(base64url text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }
}
