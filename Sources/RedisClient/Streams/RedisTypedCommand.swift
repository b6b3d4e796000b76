/// A command whose reply has a known shape: it builds its ``RedisCommand`` and decodes the reply.
///
/// ```swift
/// let groups = try await connection.send(XInfoGroups(stream: "fraud:transactions"))
/// ```
public protocol RedisTypedCommand: Sendable {
    /// The decoded reply.
    associatedtype Response: Sendable
    /// The wire command.
    var command: RedisCommand { get }
    /// Decodes a reply that is not an error reply.
    func decode(_ reply: RESPValue) throws(RedisError) -> Response
}

extension RedisTypedCommand {
    /// Decodes a pipeline slot: an error reply throws, anything else is decoded.
    public func decode(slot reply: RESPValue) throws(RedisError) -> Response {
        try decode(reply.get())
    }

    func unexpected(_ reply: RESPValue) -> RedisError {
        RedisError(code: .unexpectedReply, message: "\(command.name) returned \(reply)")
    }
}

extension RedisConnection {
    /// Sends a typed command and decodes its reply.
    public func send<Command: RedisTypedCommand>(
        _ typed: Command, timeoutMilliseconds: Int? = nil
    ) async throws(RedisError) -> Command.Response {
        try typed.decode(try await send(typed.command, timeoutMilliseconds: timeoutMilliseconds))
    }
}
