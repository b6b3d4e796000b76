import Foundation

/// Where and how to connect: endpoint, credentials, database and timeouts.
///
/// Built from `REDIS_URL` (`redis://[user:password@]host:port[/db]` or `unix:///path[?db=N]`), or from
/// `REDIS_HOST`, `REDIS_PORT` and `REDIS_PASSWORD`. With none of them set it points at the private
/// server that `make redis` starts on ``localDevelopmentPort``.
public struct RedisConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// A TCP host and port, or a Unix domain socket path.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// The port of the development server that `make redis` starts.
    public static let localDevelopmentPort = 6390

    /// Where the server listens.
    public var endpoint: Endpoint
    /// ACL user name for `AUTH user password`; `nil` means the `default` user.
    public var username: String?
    /// Password for `AUTH`; `nil` means no `AUTH`.
    public var password: String?
    /// Database index for `SELECT`; 0 needs no command.
    public var database: Int
    /// How long to wait for the TCP or Unix connect.
    public var connectTimeoutMilliseconds: Int
    /// How long to wait for a command's reply before the connection is declared broken.
    public var commandTimeoutMilliseconds: Int
    /// Name reported by `CLIENT LIST`, set with `CLIENT SETNAME` after connecting.
    public var clientName: String?
    /// Whether the server is a Redis Cluster node whose cluster the connection routes over (`REDIS_CLUSTER`).
    public var clusterMode: ClusterMode = .automatic
    /// TLS to the server (`rediss://`), `nil` for plaintext. TCP endpoints only.
    public var tls: RedisTLS?

    /// How a connection treats Redis Cluster.
    public enum ClusterMode: Sendable, Equatable {
        /// Asks the server (`INFO cluster`) when connecting, and routes over the cluster when it is one.
        case automatic
        /// The server must be a cluster node.
        case enabled
        /// A single server: no question asked, no routing (also how a cluster connection talks to each node).
        case disabled
    }

    /// A configuration for a TCP endpoint.
    public init(
        host: String = "127.0.0.1",
        port: Int = RedisConfiguration.localDevelopmentPort,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeoutMilliseconds: Int = 2_000,
        commandTimeoutMilliseconds: Int = 5_000
    ) {
        self.init(
            endpoint: .tcp(host: host, port: port), username: username, password: password, database: database,
            connectTimeoutMilliseconds: connectTimeoutMilliseconds,
            commandTimeoutMilliseconds: commandTimeoutMilliseconds)
    }

    /// A configuration for any endpoint.
    public init(
        endpoint: Endpoint,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeoutMilliseconds: Int = 2_000,
        commandTimeoutMilliseconds: Int = 5_000
    ) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
        self.clientName = nil
    }

    /// Parses a `redis://` or `unix://` URL.
    public init(url: String) throws(RedisError) {
        func invalid(_ why: String) -> RedisError {
            RedisError(code: .invalidConfiguration, message: "invalid REDIS_URL '\(url)': \(why)")
        }
        self.init()
        if url.hasPrefix("unix://") {
            var rest = Substring(url.dropFirst("unix://".count))
            if let at = rest.lastIndex(of: "@"), let slash = rest.firstIndex(of: "/"), at < slash {
                try Self.parseCredentials(rest[..<at], into: &self, invalid: invalid)
                rest = rest[rest.index(after: at)...]
            }
            var query: Substring = ""
            if let mark = rest.firstIndex(of: "?") {
                query = rest[rest.index(after: mark)...]
                rest = rest[..<mark]
            }
            guard rest.hasPrefix("/") else { throw invalid("a unix socket path must be absolute (unix:///path)") }
            endpoint = .unix(path: Self.percentDecoded(rest))
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw invalid("malformed query '\(pair)'") }
                switch parts[0] {
                case "db":
                    guard let db = Int(parts[1]), db >= 0 else { throw invalid("db must be a non-negative integer") }
                    database = db
                case "password": password = Self.percentDecoded(parts[1])
                case "user", "username": username = Self.percentDecoded(parts[1])
                default: throw invalid("unknown query parameter '\(parts[0])'")
                }
            }
            return
        }
        let scheme: String
        if url.hasPrefix("redis://") {
            scheme = "redis://"
        } else if url.hasPrefix("rediss://") {
            scheme = "rediss://"
            tls = RedisTLS()
        } else {
            throw invalid("expected redis://[user:password@]host:port[/db], rediss://… (TLS) or unix:///path")
        }
        var rest = Substring(url.dropFirst(scheme.count))
        if let at = rest.lastIndex(of: "@") {
            try Self.parseCredentials(rest[..<at], into: &self, invalid: invalid)
            rest = rest[rest.index(after: at)...]
        }
        var hostPort = rest
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { throw invalid("database '\(dbText)' is not a number") }
                database = db
            }
        }
        var host = "127.0.0.1"
        var port = 6379
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else { throw invalid("port is not a number") }
                port = value
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let value = Int(hostPort[hostPort.index(after: colon)...]) else {
                throw invalid("port is not a number")
            }
            port = value
        } else if !hostPort.isEmpty {
            host = String(hostPort)
        }
        if host.isEmpty { host = "127.0.0.1" }
        guard (1...65_535).contains(port) else { throw invalid("port \(port) is out of range") }
        endpoint = .tcp(host: host, port: port)
    }

    private static func parseCredentials(
        _ text: Substring, into configuration: inout RedisConfiguration, invalid: (String) -> RedisError
    ) throws(RedisError) {
        if let colon = text.firstIndex(of: ":") {
            let user = text[..<colon]
            let password = text[text.index(after: colon)...]
            configuration.username = user.isEmpty ? nil : percentDecoded(user)
            configuration.password = password.isEmpty ? nil : percentDecoded(password)
        } else if !text.isEmpty {
            // `redis://secret@host` is read as a password, as redis-cli does.
            configuration.password = percentDecoded(text)
        }
    }

    static func percentDecoded(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads `REDIS_URL`, else `REDIS_HOST` / `REDIS_PORT` / `REDIS_PASSWORD`, else the local development server;
    /// then the TLS files `REDIS_CA`, `REDIS_CERT`, `REDIS_KEY` and `REDIS_TLS_SERVER_NAME`, which need a `rediss://` URL.
    public static func fromEnvironment(_ environment: [String: String]) throws(RedisError) -> RedisConfiguration {
        var configuration = try endpointFromEnvironment(environment)
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let named = [("REDIS_CA", "--redis-ca"), ("REDIS_CERT", "--redis-cert"), ("REDIS_KEY", "--redis-key"),
                     ("REDIS_TLS_SERVER_NAME", "--redis-tls-server-name")].filter { value($0.0) != nil }
        guard !named.isEmpty else { return configuration }
        guard var tls = configuration.tls else {
            throw RedisError(
                code: .invalidConfiguration,
                message: "\(named.map { "\($0.1) (\($0.0))" }.joined(separator: ", ")) needs TLS: use a rediss:// URL, not \(configuration)")
        }
        tls.caFile = value("REDIS_CA")
        tls.certificateFile = value("REDIS_CERT")
        tls.keyFile = value("REDIS_KEY")
        tls.serverName = value("REDIS_TLS_SERVER_NAME")
        if (tls.certificateFile == nil) != (tls.keyFile == nil) {
            throw RedisError(code: .invalidConfiguration, message: "a Redis client certificate needs both --redis-cert (REDIS_CERT) and --redis-key (REDIS_KEY)")
        }
        for file in [tls.caFile, tls.certificateFile, tls.keyFile].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: file) {
            throw RedisError(code: .invalidConfiguration, message: "cannot read the Redis TLS file \(file)")
        }
        configuration.tls = tls
        return configuration
    }

    private static func endpointFromEnvironment(_ environment: [String: String]) throws(RedisError) -> RedisConfiguration {
        if let url = environment["REDIS_URL"], !url.isEmpty {
            var configuration = try RedisConfiguration(url: url)
            if configuration.password == nil, let password = environment["REDIS_PASSWORD"], !password.isEmpty {
                configuration.password = password
            }
            return configuration
        }
        var configuration = RedisConfiguration()
        if let host = environment["REDIS_HOST"], !host.isEmpty {
            configuration.endpoint = .tcp(host: host, port: 6379)
        }
        if let portText = environment["REDIS_PORT"], !portText.isEmpty {
            guard let port = Int(portText), (1...65_535).contains(port) else {
                throw RedisError(code: .invalidConfiguration, message: "invalid REDIS_PORT '\(portText)'")
            }
            if case .tcp(let host, _) = configuration.endpoint {
                configuration.endpoint = .tcp(host: host, port: port)
            }
        }
        if let password = environment["REDIS_PASSWORD"], !password.isEmpty {
            configuration.password = password
        }
        return configuration
    }

    /// The endpoint as people write it, without the password.
    public var description: String {
        let user = username.map { "\($0)@" } ?? (password != nil ? "***@" : "")
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return (tls == nil ? "redis://" : "rediss://") + "\(user)\(shownHost):\(port)" + (database != 0 ? "/\(database)" : "")
        case .unix(let path):
            return "unix://\(path)" + (database != 0 ? "?db=\(database)" : "")
        }
    }
}
