import CHiredis
import NIOCore
import NIOPosix

/// A connection's socket on a NIO event loop instead of its own blocking thread: commands are encoded by
/// ``RedisCommand`` (the same bytes the blocking path hands hiredis), replies decoded by hiredis's reader
/// (`redisReaderCreate`, `redisReaderFeed`, `redisReaderGetReply`), and nothing blocks. A ``RedisConnection`` on an
/// ``EventLoopExecutor`` uses it: the connection's actor, the socket and whatever else runs on that loop (the scoring
/// server's HTTP connections and lanes) share one thread, so a round trip wakes no other thread.
final class EventLoopTransport: Sendable {
    let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    /// Connects to `configuration`'s endpoint on `loop` (plain TCP or a Unix socket; TLS stays on the blocking path).
    static func open(_ configuration: RedisConfiguration, on loop: any EventLoop) async throws(RedisError) -> EventLoopTransport {
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(configuration.connectTimeoutMilliseconds)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RedisReplyHandler()) }
            }
        do {
            let channel: any Channel
            switch configuration.endpoint {
            case .tcp(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            case .unix(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
            return EventLoopTransport(channel: channel)
        } catch {
            let text = "\(error)"
            let code: RedisError.Code =
                text.contains("refused") || text.contains("No such file") ? .connectionRefused
                : text.localizedCaseInsensitiveContains("timeout") || text.localizedCaseInsensitiveContains("timed out") ? .timeout : .connectionFailed
            throw RedisError(code: code, message: "cannot connect to \(configuration): \(text)")
        }
    }

    /// Writes the pipeline and waits for its replies; past `timeoutMilliseconds` the socket is closed (a late reply
    /// could arrive) and the pipeline fails with ``RedisError/Code/timeout``.
    func execute(_ commands: [RedisCommand], timeoutMilliseconds: Int) async -> (replies: [RESPValue], failure: RedisError?) {
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        let channel = self.channel
        let timeout = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(timeoutMilliseconds))) {
            promise.fail(RedisError(code: .timeout, message: "Redis did not answer within \(timeoutMilliseconds) ms", unconfirmedCommands: 0..<commands.count))
            channel.close(promise: nil)
        }
        channel.writeAndFlush(RedisReplyHandler.Request(commands: commands, promise: promise), promise: nil)
        do {
            let replies = try await promise.futureResult.get()
            timeout.cancel()
            return (replies, nil)
        } catch let error as RedisError {
            timeout.cancel()
            return (error.partialReplies, error)
        } catch {
            timeout.cancel()
            return ([], RedisError(code: .connectionLost, message: "connection to Redis lost: \(error)", unconfirmedCommands: 0..<commands.count))
        }
    }

    /// Closes the socket; pipelines under way fail with ``RedisError/Code/connectionLost``.
    func close() { channel.close(promise: nil) }

    /// `true` while the socket is open.
    var isActive: Bool { channel.isActive }
}

/// Encodes pipelines and matches replies to them in order, on the channel's event loop.
final class RedisReplyHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Request
    typealias OutboundOut = ByteBuffer

    /// A pipeline to send, and where its replies go.
    struct Request {
        var commands: [RedisCommand]
        var promise: EventLoopPromise<[RESPValue]>
    }

    private struct Pending {
        var expected: Int
        var replies: [RESPValue]
        var promise: EventLoopPromise<[RESPValue]>
    }

    private var pending = CircularBuffer<Pending>()
    private let reader: UnsafeMutablePointer<redisReader>?

    init() { reader = redisReaderCreate() }

    deinit { if let reader { redisReaderFree(reader) } }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        let size = request.commands.reduce(0) { $0 + $1.respByteCount }
        var buffer = context.channel.allocator.buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
            var written = 0
            for command in request.commands { written += command.writeRESP(to: base + written) }
            return written
        }
        pending.append(Pending(expected: request.commands.count, replies: [], promise: request.promise))
        pending[pending.index(before: pending.endIndex)].replies.reserveCapacity(request.commands.count)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reader else { return fail(context, RedisError(code: .protocolError, message: "no reply reader (out of memory)")) }
        let buffer = unwrapInboundIn(data)
        let fed = buffer.withUnsafeReadableBytes { bytes in
            redisReaderFeed(reader, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard fed == REDIS_OK else { return fail(context, RedisError(code: .protocolError, message: "protocol error from Redis")) }
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
                return fail(context, RedisError(code: .protocolError, message: "protocol error from Redis"))
            }
            guard let raw else { return }
            let reply = RESPValue(copying: raw.assumingMemoryBound(to: redisReply.self))
            freeReplyObject(raw)
            guard !pending.isEmpty else {
                return fail(context, RedisError(code: .protocolError, message: "a reply from Redis that no command asked for"))
            }
            let first = pending.startIndex
            pending[first].replies.append(reply)
            if pending[first].replies.count == pending[first].expected {
                let done = pending.removeFirst()
                done.promise.succeed(done.replies)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(code: .connectionLost, message: "connection to Redis lost: closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context, RedisError(code: .connectionLost, message: "connection to Redis lost: \(error)"))
    }

    private func fail(_ context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    /// Every pipeline under way fails, with the replies it had and the commands whose outcome is unknown.
    private func failAll(_ error: RedisError) {
        while let next = pending.popFirst() {
            var failure = error
            failure.unconfirmedCommands = next.replies.count..<next.expected
            failure.partialReplies = next.replies
            next.promise.fail(failure)
        }
    }
}

/// A serial and task executor that runs its jobs on a NIO event loop: an actor on it (a ``RedisConnection`` with an
/// ``EventLoopTransport``, a scoring lane) and a task preferring it run on the loop's thread, beside the loop's own
/// socket work.
public final class EventLoopExecutor: ConnectionExecutor, @unchecked Sendable {
    /// The loop.
    public let eventLoop: any EventLoop

    /// An executor on `eventLoop`.
    public init(_ eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(isolatedTo: self.asUnownedSerialExecutor(), taskExecutor: self.asUnownedTaskExecutor()) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    public func checkIsolated() { precondition(eventLoop.inEventLoop, "expected to run on the event loop") }

    public var isCurrentThread: Bool { eventLoop.inEventLoop }

    public func shutdown() {}
}
