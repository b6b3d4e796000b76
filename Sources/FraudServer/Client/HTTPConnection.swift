import NIOCore
import NIOHTTP1
import NIOSSL
import NIOPosix

/// One keep-alive HTTP/1.1 connection to the scoring API, for the load test and the tests: requests are
/// written in order and answered in order (pipelining is allowed; the load test keeps one request per
/// connection in flight so a slow answer never hides behind another).
public final class HTTPConnection: Sendable {
    /// A response.
    public struct Reply: Sendable {
        /// Status code.
        public var status: Int
        /// Header fields, in order.
        public var headers: [(String, String)]
        /// The body.
        public var body: [UInt8]

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// The first value of a header, by case-insensitive name.
        public func header(_ name: String) -> String? {
            headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
        }
    }

    /// Why a request failed.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// What happened.
        public var description: String
    }

    private let channel: any Channel
    private let host: String
    /// Sent with every request (an `Authorization` header, say).
    private let headers: [(String, String)]

    private init(channel: any Channel, host: String, headers: [(String, String)]) {
        self.channel = channel
        self.host = host
        self.headers = headers
    }

    /// Connects to `host:port` (over TLS with `tls`); `headers` go with every request.
    public static func connect(
        host: String, port: Int, timeoutMilliseconds: Int64 = 2_000, headers: [(String, String)] = [], tls: TLSConfiguration? = nil
    ) async throws -> HTTPConnection {
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(timeoutMilliseconds))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        return HTTPConnection(channel: channel, host: host, headers: headers)
    }

    /// Sends a request and waits for its response.
    public func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json") async throws -> Reply {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: host)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Type", value: contentType)
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if method == .POST || method == .PUT {
            head.headers.add(name: "Content-Length", value: "0")
        }
        // A closed channel has no handlers left to answer the request: fail now instead of waiting forever.
        guard channel.isActive else { throw Failure(description: "the connection is closed") }
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        let outgoing = ResponseCollector.Outgoing(head: head, body: body.map { ByteBuffer(bytes: $0) }, promise: promise)
        channel.writeAndFlush(outgoing, promise: nil)
        return try await promise.futureResult.get()
    }

    /// Sends a JSON body.
    public func request(_ method: HTTPMethod, _ path: String, json: String) async throws -> Reply {
        try await request(method, path, body: Array(json.utf8))
    }

    /// Whether the connection is open.
    public var isActive: Bool { channel.isActive }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }
}

/// Writes requests and matches responses to them in order.
private final class ResponseCollector: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = Outgoing
    typealias OutboundOut = HTTPClientRequestPart

    struct Outgoing: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var promise: EventLoopPromise<HTTPConnection.Reply>
    }

    private var waiting = CircularBuffer<EventLoopPromise<HTTPConnection.Reply>>()
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outgoing = unwrapOutboundIn(data)
        guard context.channel.isActive else {
            outgoing.promise.fail(HTTPConnection.Failure(description: "the connection is closed"))
            return
        }
        waiting.append(outgoing.promise)
        context.write(wrapOutboundOut(.head(outgoing.head)), promise: nil)
        if let body = outgoing.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
            body = nil
        case .body(var part):
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let responseHead = head, let promise = waiting.popFirst() else { return }
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            promise.succeed(HTTPConnection.Reply(
                status: Int(responseHead.status.code), headers: responseHead.headers.map { ($0.name, $0.value) }, body: bytes))
            head = nil
            body = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(HTTPConnection.Failure(description: "\(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(HTTPConnection.Failure(description: "the server closed the connection"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: HTTPConnection.Failure) {
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}
