import FraudCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Where the archive lives: a `postgres://` URL (`--postgres-url`, `POSTGRES_URL`) with libpq's `sslmode` semantics.
///
/// - `disable`: plain TCP.
/// - `prefer` (the default, as libpq's): TLS when the server offers it, without verifying its certificate.
/// - `require`: TLS or no connection, without verifying the certificate.
/// - `verify-ca`: TLS, the certificate signed by the CA in `sslrootcert` (`--postgres-ca`, `POSTGRES_CA`).
/// - `verify-full`: as `verify-ca`, and the certificate names the host.
public struct PostgresSettings: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host = "127.0.0.1"
    public var port = 5432
    public var user = "fraudstream"
    public var password: String?
    public var database = "fraudstream"
    public var tlsMode = TLSMode.prefer
    /// The CA file (PEM) for `verify-ca` and `verify-full`.
    public var caFile: String?

    /// The setting names.
    public static let url = Setting("POSTGRES_URL", flag: "postgres-url")
    public static let ca = Setting("POSTGRES_CA", flag: "postgres-ca")

    public init() {}

    /// The URL without its password.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
    }

    /// Parses `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]` (or `postgresql://`).
    public static func parse(_ text: String) throws(FraudError) -> PostgresSettings {
        func bad(_ why: String) -> FraudError {
            FraudError(.invalidSetting, "\(url.environmentName) must look like postgres://user[:password]@host[:port]/database[?sslmode=require]: \(why)")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw bad("not a postgres:// URL")
        }
        var settings = PostgresSettings()
        if let host = components.host, !host.isEmpty { settings.host = host }
        if let port = components.port {
            guard (1...65_535).contains(port) else { throw bad("port \(port)") }
            settings.port = port
        }
        if let user = components.user, !user.isEmpty { settings.user = user.removingPercentEncoding ?? user }
        settings.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty { settings.database = path }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw bad("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                settings.tlsMode = mode
            case "sslrootcert": settings.caFile = item.value
            default: throw bad("unknown parameter '\(item.name)'")
            }
        }
        return settings
    }

    /// From `--postgres-url`/`POSTGRES_URL` and `--postgres-ca`/`POSTGRES_CA`; nil when no URL is set.
    public static func resolve(_ settings: SettingsResolver) throws(FraudError) -> PostgresSettings? {
        guard let text = settings.string(url), !text.isEmpty else { return nil }
        var parsed = try parse(text)
        if let ca = settings.string(ca), !ca.isEmpty { parsed.caFile = ca }
        if (parsed.tlsMode == .verifyCA || parsed.tlsMode == .verifyFull) && parsed.caFile == nil {
            throw FraudError(.invalidSetting, "sslmode=\(parsed.tlsMode.rawValue) needs the CA: --postgres-ca FILE (or sslrootcert= in the URL)")
        }
        return parsed
    }

    /// The connection configuration; a CA file that cannot be read is one readable error.
    public func connectionConfiguration() throws(FraudError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch tlsMode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                let context = try NIOSSLContext(configuration: configuration)
                tls = tlsMode == .prefer ? .prefer(context) : .require(context)
            case .verifyCA, .verifyFull:
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile ?? ""))
                configuration.certificateVerification = tlsMode == .verifyFull ? .fullVerification : .noHostnameVerification
                tls = .require(try NIOSSLContext(configuration: configuration))
            }
        } catch {
            throw FraudError(.invalidSetting, "cannot read the PostgreSQL CA file \(caFile ?? ""): \(error)")
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// Connects; an unreachable or refusing server is one readable error (exit 69).
    public func connect(logger: Logger) async throws(FraudError) -> PostgresConnection {
        let configuration = try connectionConfiguration()
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch {
            throw FraudError(.postgres, "cannot reach PostgreSQL at \(self): \(Self.describe(error))")
        }
    }

    /// A PostgreSQL error in one line: the server's message when there is one.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            let underlying = error.underlying.map { "\($0)" } ?? ""
            // NIO's connection failures end in the system's words; those are the line.
            for words in ["Connection refused", "No route to host", "Network is unreachable", "Connection timed out", "timed out", "Name or service not known"]
            where underlying.contains(words) {
                return words.lowercased()
            }
            return "\(error.code)" + (underlying.isEmpty ? "" : ": \(underlying)")
        }
        if let error = error as? PostgresTransactionError {
            guard let cause = error.closureError ?? error.commitError ?? error.beginError ?? error.rollbackError else { return "\(error)" }
            return describe(cause)
        }
        return "\(error)"
    }
}
