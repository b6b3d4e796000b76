import CHiredis
import Foundation

/// Owns one `redisContext*` and performs blocking hiredis calls on it.
///
/// Only ``RedisConnection`` uses this type, and only from its own executor thread; the pointer is
/// freed exactly once, in `deinit`.
final class HiredisContext {
    private let context: UnsafeMutablePointer<redisContext>
    private var currentTimeoutMilliseconds: Int = -1

    private init(context: UnsafeMutablePointer<redisContext>) {
        self.context = context
    }

    deinit {
        redisFree(context)
    }

    /// The socket, for interrupting a blocked call from another thread.
    var fileDescriptor: Int32 { context.pointee.fd }

    /// Opens a blocking connection with the configured connect timeout.
    static func open(_ configuration: RedisConfiguration) throws(RedisError) -> HiredisContext {
        _ = ignoreBrokenPipe
        let timeout = timeval(milliseconds: configuration.connectTimeoutMilliseconds)
        let pointer: UnsafeMutablePointer<redisContext>?
        switch configuration.endpoint {
        case .tcp(let host, let port):
            if let tls = configuration.tls {
                let bridge = try TLSBridge.open(host: host, port: port, tls: tls, configuration: configuration)
                pointer = redisConnectFd(bridge.fileDescriptor)
            } else {
                pointer = redisConnectWithTimeout(host, Int32(port), timeout)
            }
        case .unix(let path):
            pointer = redisConnectUnixWithTimeout(path, timeout)
        }
        let savedErrno = errno
        guard let pointer else {
            throw RedisError(code: .connectionFailed, message: "cannot connect to \(configuration): out of memory")
        }
        let context = HiredisContext(context: pointer)
        if pointer.pointee.err != 0 {
            throw context.connectError(configuration: configuration, errnoValue: savedErrno)
        }
        return context
    }

    /// Sets the socket send/receive timeout; hiredis reports its expiry as an I/O error.
    func setTimeout(milliseconds: Int) {
        guard milliseconds != currentTimeoutMilliseconds else { return }
        _ = redisSetTimeout(context, timeval(milliseconds: milliseconds))
        currentTimeoutMilliseconds = milliseconds
    }

    /// Sends every command in one write and reads their replies in order: one round trip.
    ///
    /// Error replies come back as ``RESPValue/error(_:)`` values in their slot. A broken
    /// connection stops the loop and returns the replies that did arrive, with an error that
    /// names the commands whose outcome is unknown.
    func execute(_ commands: [RedisCommand]) -> (replies: [RESPValue], failure: RedisError?) {
        // The whole pipeline, encoded once and appended to hiredis's output buffer in one call.
        let encoded = RedisCommand.encodeRESP(commands)
        let appended = encoded.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        if appended != REDIS_OK {
            return ([], ioError(errnoValue: errno, unconfirmed: 0..<0, partial: []))
        }
        var replies: [RESPValue] = []
        replies.reserveCapacity(commands.count)
        for index in commands.indices {
            var raw: UnsafeMutableRawPointer?
            if redisGetReply(context, &raw) != REDIS_OK || raw == nil {
                let failure = ioError(errnoValue: errno, unconfirmed: index..<commands.count, partial: replies)
                return (replies, failure)
            }
            let reply = raw!.assumingMemoryBound(to: redisReply.self)
            replies.append(RESPValue(copying: reply))
            freeReplyObject(raw)
        }
        return (replies, nil)
    }

    private var errorText: String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    private func connectError(configuration: RedisConfiguration, errnoValue: Int32) -> RedisError {
        let text = errorText
        let code: RedisError.Code
        switch errnoValue {
        case ECONNREFUSED, ENOENT: code = .connectionRefused
        case ETIMEDOUT, EINPROGRESS, EAGAIN: code = .timeout
        default:
            code = text.localizedCaseInsensitiveContains("timed out") ? .timeout : .connectionFailed
        }
        let detail = code == .timeout ? "timed out after \(configuration.connectTimeoutMilliseconds) ms" : text
        return RedisError(code: code, message: "cannot connect to \(configuration): \(detail)", errno: errnoValue)
    }

    private func ioError(errnoValue: Int32, unconfirmed: Range<Int>, partial: [RESPValue]) -> RedisError {
        let text = errorText
        let code: RedisError.Code
        switch context.pointee.err {
        case REDIS_ERR_IO:
            switch errnoValue {
            case EAGAIN, ETIMEDOUT: code = .timeout
            default: code = .connectionLost
            }
        case REDIS_ERR_EOF: code = .connectionLost
        case REDIS_ERR_PROTOCOL: code = .protocolError
        default: code = .connectionLost
        }
        let message: String
        switch code {
        case .timeout: message = "Redis did not answer within \(currentTimeoutMilliseconds) ms"
        case .protocolError: message = "protocol error from Redis: \(text)"
        default: message = "connection to Redis lost: \(text.isEmpty ? "closed" : text)"
        }
        return RedisError(
            code: code, message: message, errno: errnoValue, unconfirmedCommands: unconfirmed, partialReplies: partial)
    }
}

/// hiredis writes with `write(2)`: a peer that went away would raise SIGPIPE and kill the process.
/// Ignoring it turns that into an EPIPE error, which surfaces as ``RedisError/Code/connectionLost``.
private let ignoreBrokenPipe: Void = {
    signal(SIGPIPE, SIG_IGN)
}()

extension timeval {
    init(milliseconds: Int) {
        self.init(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    }
}
