import Foundation
import NIOCore

/// One connection to Redis, as an actor whose executor is its own I/O thread.
///
/// All hiredis calls block that thread, never Swift's cooperative pool, so a connection parked in
/// `XREADGROUP … BLOCK` delays nothing else. Cancelling the calling task shuts the socket down,
/// which interrupts the blocking call; the connection is then re-established on the next call.
///
/// ```swift
/// let redis = try await RedisConnection.connect(RedisConfiguration(url: "redis://127.0.0.1:6390"))
/// try await redis.send(RedisCommand("SET", "greeting", "hello"))
/// let replies = try await redis.pipeline([RedisCommand("INCR", "n"), RedisCommand("GET", "greeting")])
/// ```
public actor RedisConnection {
    /// How this connection reaches Redis.
    public nonisolated let configuration: RedisConfiguration
    /// The thread this connection's calls run on: its own (blocking hiredis I/O), or a NIO event loop's
    /// (``init(configuration:name:eventLoop:)``). Run a loop that talks mostly to this connection with
    /// `withTaskExecutorPreference(connection.executor)` to avoid a thread hop per call.
    public nonisolated let executor: any ConnectionExecutor
    private let interrupter = SocketInterrupter()
    var context: HiredisContext?
    /// The socket on the event loop, when the connection lives on one.
    private var transport: EventLoopTransport?
    /// The open under way, which calls finding the socket closed wait for.
    private var opening: Task<RedisError?, Never>?
    /// The loop, when the connection lives on one.
    private nonisolated let eventLoop: (any EventLoop)?
    private var hasConnected = false
    /// The cluster's topology and node connections when the server is a cluster node (``RedisConfiguration/clusterMode``).
    var cluster: ClusterState?

    /// How many times a lost connection has been re-established.
    public private(set) var reconnectCount = 0

    /// Runs this actor on its dedicated thread.
    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        executor.asUnownedSerialExecutor()
    }

    /// Creates a connection that connects lazily, on the first call. With `eventLoop`, the connection's actor and
    /// its socket live on that NIO event loop and nothing blocks (a standalone server over TCP or a Unix socket; a
    /// cluster or TLS keeps the blocking thread).
    public init(configuration: RedisConfiguration, name: String = "redis", eventLoop: (any EventLoop)? = nil) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        if let eventLoop {
            self.executor = EventLoopExecutor(eventLoop)
        } else {
            self.executor = ThreadExecutor(name: "redis-\(name)")
        }
    }

    /// Whether the connection lives on a NIO event loop.
    public nonisolated var isOnEventLoop: Bool { eventLoop != nil }

    deinit {
        executor.shutdown()
        // A NIO channel stays open until closed: a connection dropped on an event loop closes its socket.
        transport?.close()
    }

    /// Creates a connection and connects once, throwing the reason when that fails.
    public static func connect(
        _ configuration: RedisConfiguration, name: String = "redis", eventLoop: (any EventLoop)? = nil
    ) async throws(RedisError) -> RedisConnection {
        let connection = RedisConnection(configuration: configuration, name: name, eventLoop: eventLoop)
        if eventLoop != nil {
            try await connection.openTransport()
        } else {
            try await connection.connect()
        }
        return connection
    }

    /// Connects now (one attempt, no backoff) unless already connected.
    public func connect() throws(RedisError) {
        guard context == nil else { return }
        let opened = try openAuthenticated()
        // Detected before the socket is kept: a failed check leaves no half-set-up connection behind.
        try detectCluster(on: opened)
        context = opened
        hasConnected = true
    }

    /// Closes the socket; the next call reconnects.
    public func close() {
        context = nil
        transport?.close()
        transport = nil
    }

    /// `true` while a socket is open.
    public var isConnected: Bool { context != nil || transport?.isActive == true }

    /// Whether a socket is open and how many times one was opened again, in one call (one hop for a caller on
    /// another executor).
    public var socketState: (connected: Bool, reconnects: Int) { (isConnected, reconnectCount) }

    /// `true` when the caller runs on this connection's own thread (used by tests).
    public nonisolated var isOnOwnThread: Bool { executor.isCurrentThread }

    /// Sends one command and returns its reply; an error reply throws ``RedisError/Code/serverError``.
    @discardableResult
    public func send(_ command: RedisCommand, timeoutMilliseconds: Int? = nil) async throws(RedisError) -> RESPValue {
        let replies = try await pipeline([command], timeoutMilliseconds: timeoutMilliseconds)
        return try replies[0].get()
    }

    /// Sends `commands` in one write and reads all replies: one round trip for the whole batch.
    ///
    /// Error replies stay in their slot as ``RESPValue/error(_:)`` so one bad command does not hide
    /// the others' results. When the connection breaks midway the error's
    /// ``RedisError/unconfirmedCommands`` names the commands that may or may not have run.
    public func pipeline(
        _ commands: [RedisCommand], timeoutMilliseconds: Int? = nil
    ) async throws(RedisError) -> [RESPValue] {
        if commands.isEmpty { return [] }
        if eventLoop != nil { return try await loopPipeline(commands, timeoutMilliseconds: timeoutMilliseconds) }
        // Once the cluster is known, the node this connection was opened to is not needed for routing (it may be
        // the one that failed): only the first connection asks it.
        if context == nil && cluster == nil { _ = try connectedContext() }
        if cluster != nil { return try await clusterPipeline(commands, timeoutMilliseconds: timeoutMilliseconds) }
        return try await directPipeline(commands, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// `commands` on this connection's own socket, whatever the server is.
    func directPipeline(
        _ commands: [RedisCommand], timeoutMilliseconds: Int? = nil
    ) async throws(RedisError) -> [RESPValue] {
        if commands.isEmpty { return [] }
        if Task.isCancelled {
            throw RedisError(
                code: .cancelled, message: "cancelled before sending",
                unconfirmedCommands: 0..<0)
        }
        let context = try connectedContext()
        context.setTimeout(milliseconds: timeoutMilliseconds ?? configuration.commandTimeoutMilliseconds)
        interrupter.arm(context.fileDescriptor)
        let interrupter = self.interrupter
        // The closure must capture `self`: only then is it isolated to this actor and runs on its
        // thread. A closure capturing just the context would run on the generic executor and block a
        // cooperative-pool thread in hiredis (a test holds more blocked connections than the pool has).
        let outcome = await withTaskCancellationHandler {
            self.executeOnOwnThread(commands)
        } onCancel: {
            interrupter.interrupt()
        }
        let wasInterrupted = interrupter.disarm()
        guard var failure = outcome.failure else { return outcome.replies }
        // The socket is in an unknown state (a late reply could arrive): drop it.
        self.context = nil
        if wasInterrupted {
            failure.code = .cancelled
            failure.message = "cancelled while waiting for Redis"
        }
        throw failure
    }

    /// `commands` on the event loop's socket, opened (or opened again after a failure) first.
    private func loopPipeline(_ commands: [RedisCommand], timeoutMilliseconds: Int?) async throws(RedisError) -> [RESPValue] {
        if Task.isCancelled {
            throw RedisError(code: .cancelled, message: "cancelled before sending", unconfirmedCommands: 0..<0)
        }
        if transport?.isActive != true { try await reopenTransport() }
        // The actor is reentrant across the awaits below: another call may replace or drop the socket meanwhile, so
        // this call keeps its own reference and changes `self.transport` only while it is still that one.
        guard let transport else { throw RedisError(code: .connectionLost, message: "connection closed before sending") }
        let outcome = await withTaskCancellationHandler {
            await transport.execute(commands, timeoutMilliseconds: timeoutMilliseconds ?? configuration.commandTimeoutMilliseconds)
        } onCancel: {
            transport.close()
        }
        guard var failure = outcome.failure else { return outcome.replies }
        // The socket is in an unknown state (a late reply could arrive): drop it.
        transport.close()
        if self.transport === transport { self.transport = nil }
        if Task.isCancelled {
            failure.code = .cancelled
            failure.message = "cancelled while waiting for Redis"
        }
        throw failure
    }

    /// Opens the socket again, once for every call that finds it closed: calls that arrive while it is being opened
    /// wait for that one open (the actor is reentrant across its awaits) instead of each opening their own.
    private func reopenTransport() async throws(RedisError) {
        if let opening {
            if let failure = await opening.value { throw failure }
            return
        }
        if hasConnected {
            reconnectCount += 1
            RedisActivity.reconnected()
        }
        transport = nil
        let task = Task { () -> RedisError? in
            do throws(RedisError) { try await self.openTransport() } catch { return error }
            return nil
        }
        opening = task
        let failure = await task.value
        opening = nil
        if let failure { throw failure }
    }

    /// Opens the event loop's socket and sets it up as ``openAuthenticated()`` does; a cluster node is refused (its
    /// routing lives on the blocking path).
    func openTransport() async throws(RedisError) {
        guard let eventLoop else { return }
        if configuration.tls != nil {
            throw RedisError(code: .invalidConfiguration, message: "\(configuration): TLS to Redis is not served on an event loop")
        }
        let opened = try await EventLoopTransport.open(configuration, on: eventLoop)
        var setup = setupCommands()
        let probe = configuration.clusterMode != .disabled
        if probe { setup.append(RedisCommand("INFO", "cluster")) }
        if setup.isEmpty { setup.append(RedisCommand("PING")) }
        let outcome = await opened.execute(setup, timeoutMilliseconds: configuration.commandTimeoutMilliseconds)
        if let failure = outcome.failure {
            opened.close()
            throw failure
        }
        do {
            try checkSetup(setup, outcome.replies)
        } catch {
            opened.close()
            throw error
        }
        if probe, outcome.replies.last?.string?.contains("cluster_enabled:1") == true {
            opened.close()
            throw RedisError(code: .invalidConfiguration, message: "\(configuration) is a Redis Cluster node: its routing is not served on an event loop")
        }
        hasConnected = true
        // Another call opened one while this one was connecting: keep that, close this.
        if let current = transport, current.isActive {
            opened.close()
            return
        }
        transport = opened
    }

    /// Runs the blocking hiredis round trip; isolated, hence on this connection's thread.
    private func executeOnOwnThread(_ commands: [RedisCommand]) -> (replies: [RESPValue], failure: RedisError?) {
        guard let context else {
            return ([], RedisError(code: .connectionLost, message: "connection closed before sending"))
        }
        assert(executor.isCurrentThread, "hiredis I/O must run on the connection's own thread")
        return context.execute(commands)
    }

    /// Loads (or replaces) a Redis Functions library and returns its name.
    @discardableResult
    public func loadFunctionLibrary(_ source: String, replace: Bool = true) async throws(RedisError) -> String {
        let reply = try await send(.functionLoad(source, replace: replace))
        guard let name = reply.string else {
            throw RedisError(code: .unexpectedReply, message: "FUNCTION LOAD returned \(reply)")
        }
        return name
    }

    /// Calls a Redis Function with `FCALL`.
    @discardableResult
    public func callFunction(
        _ function: String, keys: [String], arguments: [any RedisArgument] = []
    ) async throws(RedisError) -> RESPValue {
        try await send(.fcall(function, keys: keys, arguments: arguments))
    }

    /// The open context, or one new attempt to open it. No loop and no backoff here: retrying is
    /// the caller's choice, made once with a ``RetryPolicy``, so retries never nest.
    private func connectedContext() throws(RedisError) -> HiredisContext {
        if let context { return context }
        let opened = try openAuthenticated()
        if hasConnected {
            reconnectCount += 1
            RedisActivity.reconnected()
        }
        try detectCluster(on: opened)
        hasConnected = true
        context = opened
        return opened
    }

    private func openAuthenticated() throws(RedisError) -> HiredisContext {
        let context = try HiredisContext.open(configuration)
        context.setTimeout(milliseconds: configuration.commandTimeoutMilliseconds)
        var setup = setupCommands()
        // Something is always asked: a server that closes at once (a TLS port spoken to in plaintext) fails here, with a
        // hint. The probe's own reply does not matter (NOAUTH, LOADING): those surface on the first real command.
        let probeOnly = setup.isEmpty
        if probeOnly { setup.append(RedisCommand("PING")) }
        let outcome = context.execute(setup)
        if var failure = outcome.failure {
            if failure.code == .connectionLost, configuration.tls == nil, case .tcp = configuration.endpoint {
                failure.code = .connectionFailed
                failure.message = "\(configuration) closed the connection at once: if it is a TLS port, use rediss:// (\(failure.message))"
            }
            throw failure
        }
        if probeOnly { return context }
        try checkSetup(setup, outcome.replies)
        return context
    }

    /// AUTH, SELECT and CLIENT SETNAME as the configuration asks.
    private func setupCommands() -> [RedisCommand] {
        var setup: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                setup.append(RedisCommand("AUTH", username, password))
            } else {
                setup.append(RedisCommand("AUTH", password))
            }
        }
        if configuration.database != 0 {
            setup.append(RedisCommand("SELECT", configuration.database))
        }
        if let name = configuration.clientName {
            setup.append(RedisCommand("CLIENT", "SETNAME", name))
        }
        return setup
    }

    /// Throws the first setup command's error reply, worded for the operator.
    private func checkSetup(_ setup: [RedisCommand], _ replies: [RESPValue]) throws(RedisError) {
        for (command, reply) in zip(setup, replies) {
            if let message = reply.errorMessage {
                if message.hasPrefix("NOAUTH") {
                    throw RedisError(
                        code: .authenticationFailed,
                        message: "\(configuration) requires a password: set REDIS_PASSWORD or put it in REDIS_URL (redis://:password@host:port)")
                }
                if command.name == "AUTH" {
                    throw RedisError(
                        code: .authenticationFailed,
                        message: "authentication to \(configuration) failed: \(message)")
                }
                if command.name == "INFO" || command.name == "PING" { continue }
                throw RedisError(code: .serverError, message: "\(command.name) failed: \(message)")
            }
        }
    }
}
