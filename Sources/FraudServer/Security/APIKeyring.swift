import FraudCore
import Foundation
import Hummingbird
import HTTPTypes
import Logging
import RedisClient
import ServiceLifecycle
import Synchronization

/// The API keys a server accepts, held in memory and followed from Redis (``APIKeyWatcher``): a created key works and
/// a revoked one is refused within a second, and each key's last use is written back at most once a minute.
public final class APIKeyring: Sendable {
    private struct State {
        var keys: [String: APIKey] = [:]
        var version = -1
        /// Name → last use not yet written (ms).
        var unwritten: [String: Int64] = [:]
        /// Name → last use written (ms).
        var written: [String: Int64] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The key a secret belongs to, when it is a current key's (compared in constant time); notes its use.
    public func authenticate(_ secret: String) -> APIKey? {
        guard let id = APIKey.id(inSecret: secret) else { return nil }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return state.withLock { state -> APIKey? in
            guard let key = state.keys[id], key.matches(secret) else { return nil }
            if now - (state.written[key.name] ?? 0) >= 60_000 { state.unwritten[key.name] = now }
            return key
        }
    }

    /// How many keys are current.
    public var count: Int { state.withLock { $0.keys.count } }

    /// Replaces the keys when `version` is new; `true` when it was.
    func replace(_ keys: [APIKey], version: Int) {
        state.withLock { state in
            state.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            state.version = version
        }
    }

    var version: Int { state.withLock { $0.version } }

    /// The last uses to write, marked written.
    func takeUnwritten() -> [String: Int64] {
        state.withLock { state in
            defer {
                for (name, time) in state.unwritten { state.written[name] = time }
                state.unwritten = [:]
            }
            return state.unwritten
        }
    }
}

/// Follows `{<ns>:apikeys}:version` twice a second and reloads the keys when it moves; writes last uses back.
struct APIKeyWatcher: Service {
    let keyring: APIKeyring
    let store: APIKeyStore
    let connection: RedisConnection
    let logger: Logger

    func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let version = try await store.version(on: connection)
                if version != keyring.version {
                    let keys = try await store.load(on: connection)
                    keyring.replace(keys, version: version)
                    logger.info("API keys loaded", metadata: ["keys": "\(keys.count)", "version": "\(version)"])
                }
                let used = keyring.takeUnwritten()
                if !used.isEmpty {
                    var command = RedisCommand("HSET", store.usedKey)
                    for (name, time) in used {
                        command.append(name)
                        command.append(String(time))
                    }
                    _ = try await connection.send(command)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("reading the API keys failed; keeping the ones loaded", metadata: ["error": "\(error)"])
            }
            await gracefulShutdownAwareSleep(milliseconds: 500)
        }
    }
}

/// Announces how this server is exposed in ``ServerRegistry`` (for `doctor`), every
/// ``ServerRegistry/refreshMilliseconds``, and withdraws it at a graceful stop.
struct ServerAnnouncer: Service {
    let registry: ServerRegistry
    let posture: ServerRegistry.Posture
    let connection: RedisConnection
    let logger: Logger

    func run() async {
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await registry.announce(posture, on: connection)
                failing = false
            } catch {
                if Task.isCancelled { return }
                if !failing { logger.warning("announcing the server's posture failed; retrying", metadata: ["error": "\(error)"]) }
                failing = true
            }
            await gracefulShutdownAwareSleep(milliseconds: ServerRegistry.refreshMilliseconds)
        }
        try? await registry.withdraw(serverId: posture.serverId, on: connection)
    }
}

/// The request context of the scoring API: Hummingbird's, plus who is asking (``actor``), for the audit log.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `key:<name>` of the API key the request carried; `anonymous` with `--auth off`.
    public var actor = "anonymous"

    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// A token bucket per key for admin requests (blocklist changes): `rate` per second, bursts of `burst`.
///
/// Bounded: once more than ``sweepThreshold`` principals have buckets (JWT subjects are unbounded), the full ones are
/// dropped, since a full bucket is what an absent one means; what stays is the principals that acted in the last
/// `burst / rate` seconds.
final class AdminRateLimiter: Sendable {
    let rate: Double
    let burst: Double
    /// Buckets kept before full ones are swept.
    static let sweepThreshold = 4_096
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    /// The principals that have a bucket now.
    var bucketCount: Int { buckets.withLock { $0.count } }

    init(perSecond rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(1, burst))
    }

    /// Takes a token for `key`; nil when allowed, else the seconds until one is available.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Double? {
        buckets.withLock { buckets in
            if buckets.count > Self.sweepThreshold {
                let rate = self.rate
                let burst = self.burst
                buckets = buckets.filter { $0.value.tokens + (now - $0.value.at).seconds * rate < burst }
            }
            var bucket = buckets[key] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at).seconds * rate)
            bucket.at = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / max(rate, 0.000_001) }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// Ties the audit entries of one state-changing request (the `admin` scope's endpoints) to one id: the client's
/// `X-Request-Id` when it is a plain token of at most 64 characters, else a new one. The id is echoed in the response's
/// `X-Request-Id`, so an operator can find the entries of a call in `fraudstream audit list`.
struct AuditRequestIdMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    /// The client's id when it is safe to store and show: 1–64 characters of letters, digits, `.`, `_`, `-` and `:`.
    static func accepted(_ id: String?) -> String? {
        guard let id, (1...64).contains(id.utf8.count),
            id.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ":")) })
        else { return nil }
        return id
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard APIKeyMiddleware.requiredScope(method: request.method, path: request.uri.path) == .admin else {
            return try await next(request, context)
        }
        let id = Self.accepted(request.headers[Self.header]) ?? "req-" + UUID().uuidString.lowercased()
        var response = try await AuditLog.withRequestId(id) { try await next(request, context) }
        response.headers[Self.header] = id
        return response
    }
}

/// `Authorization: Bearer <key>` on every endpoint but `/healthz`, `/readyz` and `/openapi.json`: `401` without a current
/// key, `403` when the key lacks the endpoint's scope (``requiredScope(method:path:)``), both in the API's error shape.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let keyring: APIKeyring
    /// `false` with `--auth off`: every request passes, as `anonymous`.
    let required: Bool
    /// Bounds how fast each key changes state (admin scope): past it `429` with `Retry-After`.
    let adminLimiter: AdminRateLimiter
    /// Bearer JWTs accepted beside API keys (`--jwks`), nil when none are.
    var tokens: TokenVerifier? = nil

    /// The path as the router matches it: empty segments (`//`, a trailing `/`) dropped and each segment
    /// percent-decoded, so `/v1//blocklist/ip/…` or `/v1/score/` need the scope of the route they reach.
    static func routedPath(_ path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map { segment in
            String(segment).removingPercentEncoding ?? String(segment)
        }
        return "/" + segments.joined(separator: "/")
    }

    /// The scope an endpoint needs; nil for the open ones. Decided on ``routedPath(_:)``; a path no route is known for
    /// needs `read` to be read and `admin` to be changed, so a route the table misses is never cheaper than it should be.
    static func requiredScope(method: HTTPRequest.Method, path raw: String) -> APIScope? {
        let path = routedPath(raw)
        switch (method, path) {
        case (.get, "/healthz"), (.get, "/readyz"), (.get, "/openapi.json"): return nil
        case (.post, "/v1/score"), (.post, "/v1/score/batch"), (.post, "/"): return .score
        case (.get, "/metrics"), (.get, "/v1/models/current"): return .read
        default:
            if path.hasPrefix("/v1/blocklist/") { return method == .get ? .read : .admin }
            if path.hasPrefix("/v1/approvals") { return .admin }
            // Anything else (a 404 to be) still needs a valid key: an anonymous caller learns nothing of the routes.
            return method == .get || method == .head ? .read : .admin
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let scope = Self.requiredScope(method: request.method, path: request.uri.path)
        guard required, let scope else {
            // Without keys, admin requests share one bucket.
            if scope == .admin, let wait = adminLimiter.take("anonymous") { return Self.tooManyRequests(wait) }
            return try await next(request, context)
        }
        let credential = request.headers[.authorization].flatMap { header in
            header.hasPrefix("Bearer ") ? String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces) : nil
        }
        // A JWT from the identity provider, when the server accepts them and this is not an API key.
        if let credential, let tokens, !credential.hasPrefix("fsk_") {
            guard let grant = await tokens.verify(credential) else { return Self.unauthorized() }
            guard grant.scopes.contains(scope) else {
                return APIResponse.error(.forbidden, "forbidden", "the token of '\(grant.actor)' lacks the scope '\(scope.rawValue)' this endpoint needs")
            }
            if scope == .admin, let wait = adminLimiter.take(grant.actor) { return Self.tooManyRequests(wait) }
            var context = context
            context.actor = grant.actor
            return try await next(request, context)
        }
        guard let credential, let key = keyring.authenticate(credential) else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = "Bearer realm=\"fraudstream\""
            return APIResponse.error(
                .unauthorized, "unauthorized", "this endpoint needs an API key: Authorization: Bearer <key> (fraudstream apikeys create)",
                headers: headers)
        }
        guard key.scopes.contains(scope) else {
            return APIResponse.error(
                .forbidden, "forbidden", "the API key '\(key.name)' lacks the scope '\(scope.rawValue)' this endpoint needs")
        }
        if scope == .admin, let wait = adminLimiter.take(key.id) { return Self.tooManyRequests(wait) }
        var context = context
        context.actor = "key:\(key.name)"
        return try await next(request, context)
    }

    static func unauthorized() -> Response {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"fraudstream\""
        return APIResponse.error(
            .unauthorized, "unauthorized", "this endpoint needs an API key or a token: Authorization: Bearer <credential>", headers: headers)
    }

    static func tooManyRequests(_ wait: Double) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("Retry-After")!] = String(max(1, Int(wait.rounded(.up))))
        return APIResponse.error(
            .tooManyRequests, "rate_limited", "too many admin requests for this key; retry after \(max(1, Int(wait.rounded(.up)))) s",
            headers: headers)
    }
}
