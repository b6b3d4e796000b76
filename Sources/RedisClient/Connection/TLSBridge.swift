import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// TLS to Redis for a blocking hiredis context: hiredis speaks plain RESP on one end of a Unix socket pair, and an
/// event loop carries the bytes between the other end and a TLS connection to the server.
///
/// Debian 12's hiredis 0.14 has no TLS, so the bytes travel through swift-nio-ssl. The bridge leaves hiredis,
/// its timeouts and ``SocketInterrupter`` as they are: the pair's end is an ordinary socket to them. The price is
/// one extra local copy each way, on an event-loop thread (README, "TLS to Redis", has the measured cost).
///
/// The bridge closes the TLS connection when hiredis closes its end, and closes hiredis's end when the server
/// closes, so hiredis sees the loss as it would on a plain socket.
final class TLSBridge {
    /// hiredis's end of the pair (hiredis frees it with the context).
    let fileDescriptor: Int32

    private init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Connects to `host:port`, completes the TLS handshake (verifying the server's certificate unless told
    /// not to), and returns hiredis's end of the bridge. Blocks the calling thread, which is a connection's own.
    static func open(host: String, port: Int, tls: RedisTLS, configuration: RedisConfiguration) throws(RedisError) -> TLSBridge {
        let context: NIOSSLContext
        do {
            context = try RedisTLS.contexts.context(for: tls)
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(code: .invalidConfiguration, message: "cannot use the Redis TLS files (\(tls.filesDescription)): \(error)")
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw RedisError(code: .connectionFailed, message: "cannot connect to \(configuration): socketpair failed (errno \(errno))", errno: errno)
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let serverName = tls.serverName ?? (Self.isIPAddress(host) ? nil : host)
        let handshake = loop.makePromise(of: Void.self)
        let remote: any Channel
        do {
            remote = try ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ssl = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandler(ssl)
                        try channel.pipeline.syncOperations.addHandler(
                            HandshakeWatcher(promise: handshake, timeout: .milliseconds(Int64(configuration.connectTimeoutMilliseconds))))
                    }
                }
                .connect(host: host, port: port)
                .wait()
        } catch {
            close(pair[0])
            close(pair[1])
            handshake.fail(error)
            throw connectError(error, configuration: configuration)
        }
        do {
            try handshake.futureResult.wait()
        } catch {
            close(pair[0])
            close(pair[1])
            remote.close(promise: nil)
            throw handshakeError(error, configuration: configuration, serverName: serverName, tls: tls)
        }
        do {
            let local = try ClientBootstrap(group: loop)
                .channelInitializer { local in
                    // Both channels live on one event loop, so each glue half may call its partner directly.
                    local.eventLoop.makeCompletedFuture {
                        let localGlue = Glue()
                        let remoteGlue = Glue()
                        localGlue.partner = remoteGlue
                        remoteGlue.partner = localGlue
                        try local.pipeline.syncOperations.addHandler(localGlue)
                        try remote.pipeline.syncOperations.addHandler(remoteGlue)
                    }
                }
                .withConnectedSocket(pair[1])
                .wait()
            // A server that closed between the handshake and the glue sent no event the glue saw: pass it on.
            // (Both run on the loop in order, so a close after the glue was added reaches the glue instead.)
            loop.execute { if !remote.isActive { local.close(promise: nil) } }
        } catch {
            close(pair[0])
            remote.close(promise: nil)
            throw RedisError(code: .connectionFailed, message: "cannot connect to \(configuration): \(error)")
        }
        return TLSBridge(fileDescriptor: pair[0])
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private static func connectError(_ error: any Error, configuration: RedisConfiguration) -> RedisError {
        if let connect = error as? NIOConnectionError, let first = connect.connectionErrors.first?.error {
            return connectError(first, configuration: configuration)
        }
        if let io = error as? IOError {
            let code: RedisError.Code = io.errnoCode == ECONNREFUSED ? .connectionRefused : .connectionFailed
            return RedisError(code: code, message: "cannot connect to \(configuration): \(io)", errno: io.errnoCode)
        }
        if error is ChannelError, case .connectTimeout = error as! ChannelError {
            return RedisError(
                code: .timeout, message: "cannot connect to \(configuration): timed out after \(configuration.connectTimeoutMilliseconds) ms")
        }
        return RedisError(code: .connectionFailed, message: "cannot connect to \(configuration): \(error)")
    }

    private static func handshakeError(_ error: any Error, configuration: RedisConfiguration, serverName: String?, tls: RedisTLS) -> RedisError {
        let text = "\(error)"
        let reason: String
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            reason = "the server's certificate is not signed by \(tls.caFile.map { "the CA in \($0)" } ?? "a trusted CA")"
        } else if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            reason = "the server's certificate is not for \(serverName ?? "its address") (set --redis-tls-server-name to the name it carries)"
        } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            reason = "the server did not answer in TLS (a plaintext port? use redis://)"
        } else if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE") {
            reason = "the server refused the handshake (does it want a client certificate? --redis-cert and --redis-key): \(text)"
        } else if error is HandshakeTimeout {
            reason = "no answer within \(configuration.connectTimeoutMilliseconds) ms (a plaintext port? use redis://)"
        } else if error is ChannelError || text.contains("eof") || text.contains("EOF") {
            reason = "the server closed the connection during the handshake"
        } else {
            reason = text
        }
        return RedisError(code: .connectionFailed, message: "TLS handshake with \(configuration) failed: \(reason)")
    }
}

/// Fulfils the promise when the TLS handshake completes, fails it when the channel errs or closes first, or when the
/// handshake takes longer than the timeout (a plaintext server reading the ClientHello as an unfinished inline
/// command never answers at all).
private final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    private var promise: EventLoopPromise<Void>?
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(promise: EventLoopPromise<Void>, timeout: TimeAmount) {
        self.promise = promise
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (watcher, context) = loopBound.value
            watcher.promise?.fail(HandshakeTimeout())
            watcher.promise = nil
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            promise?.succeed()
            promise = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise?.fail(error)
        promise = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise?.fail(ChannelError.eof)
        promise = nil
        context.fireChannelInactive()
    }
}

/// The handshake did not finish within the connect timeout.
private struct HandshakeTimeout: Error {}

/// One half of the bridge: what its channel reads is written to the partner's channel, with backpressure (a
/// channel stops reading while its partner cannot take more), and a close on either side closes both.
private final class Glue: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: Glue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        partner = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event {
            partner?.context?.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    private func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func read(context: ChannelHandlerContext) {
        // Reading waits while the partner cannot write: neither side buffers without bound.
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            pendingRead = true
        } else {
            context.read()
        }
    }
}

/// How a connection to Redis uses TLS: a `rediss://` URL, with `--redis-ca`, `--redis-cert`, `--redis-key` and
/// `--redis-tls-server-name` (`REDIS_CA`, `REDIS_CERT`, `REDIS_KEY`, `REDIS_TLS_SERVER_NAME`).
public struct RedisTLS: Sendable, Hashable {
    /// PEM file of the CA that signed the server's certificate; `nil` trusts the system's roots.
    public var caFile: String?
    /// PEM client certificate, for servers that want one (`tls-auth-clients yes`).
    public var certificateFile: String?
    /// PEM key of the client certificate.
    public var keyFile: String?
    /// The name the server's certificate must carry; default the host (an IP address is checked against the
    /// certificate's IP entries).
    public var serverName: String?

    /// TLS with the system's trust roots and no client certificate.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    var filesDescription: String {
        [caFile.map { "CA \($0)" }, certificateFile.map { "certificate \($0)" }, keyFile.map { "key \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    /// The client TLS configuration: TLS 1.2 or later, the server's certificate verified.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        }
        switch (certificateFile, keyFile) {
        case (let certificate?, let key?):
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        case (nil, nil):
            break
        default:
            throw RedisError(code: .invalidConfiguration, message: "a Redis client certificate needs both --redis-cert and --redis-key")
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// One context per TLS setting, made on first use: loading the files once, not per connection.
    static let contexts = ContextCache()

    final class ContextCache: @unchecked Sendable {
        private let lock = NSLock()
        private var contexts: [RedisTLS: NIOSSLContext] = [:]

        func context(for tls: RedisTLS) throws -> NIOSSLContext {
            try lock.withLock {
                if let existing = contexts[tls] { return existing }
                let made = try tls.makeContext()
                contexts[tls] = made
                return made
            }
        }
    }
}
