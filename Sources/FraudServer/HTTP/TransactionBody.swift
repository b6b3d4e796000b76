import Foundation
import FraudCore
import Hummingbird
import NIOCore

/// Turns a request body into transactions with the stream's data contract: malformed JSON is `400`,
/// a contract violation `422` with the dead-letter stream's reason text.
enum TransactionBody {
    /// Largest body of a single transaction.
    static let maximumBytes = 64 * 1024
    /// Largest body of a batch request.
    static let maximumBatchBytes = 1024 * 1024
    /// Most transactions in one batch request.
    static let maximumBatchCount = 1_000

    /// A request that cannot be scored, with its status.
    struct Problem: Error, Sendable {
        var status: HTTPResponse.Status
        var code: String
        var message: String

        var response: Response { APIResponse.error(status, code, message) }
    }

    /// Reads the body, at most `limit` bytes.
    static func collect(_ request: Request, limit: Int) async throws(Problem) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw Problem(status: .contentTooLarge, code: "body_too_large", message: "the body is larger than \(limit) bytes")
        } catch {
            throw Problem(status: .badRequest, code: "unreadable_body", message: "the body could not be read: \(error)")
        }
    }

    /// The body's JSON, mapping syntax errors to `400`.
    static func json(_ buffer: ByteBuffer, shape: String) throws(Problem) -> FlatJSON.Value {
        let bytes = Array(buffer.readableBytesView)
        if bytes.isEmpty { throw Problem(status: .badRequest, code: "empty_body", message: "the body is empty; expected \(shape)") }
        do {
            return try FlatJSON.parse(bytes)
        } catch {
            throw Problem(status: .badRequest, code: "malformed_json", message: "the body is not valid JSON: \(error.description)")
        }
    }

    /// The members of a JSON object body; any other JSON is `400`.
    static func object(_ buffer: ByteBuffer, shape: String) throws(Problem) -> [FlatJSON.Member] {
        guard case .object(let members) = try json(buffer, shape: shape) else {
            throw Problem(status: .badRequest, code: "invalid_body", message: "the body is not \(shape)")
        }
        return members
    }

    /// One transaction from its JSON members: the contract's parser, the server's clock for a missing
    /// `timestamp`, and the worker's plausibility window.
    static func transaction(
        _ members: [FlatJSON.Member], validator: EntryValidator, nowMilliseconds: Int64
    ) -> Result<Transaction, Problem> {
        var fields: [(String, String)] = []
        fields.reserveCapacity(members.count + 1)
        var hasTimestamp = false
        for member in members {
            let name = member.name
            let value = member.value
            if let problem = typeProblem(name, value) { return .failure(problem) }
            guard let text = value.fieldText else { continue }
            if name == "timestamp" { hasTimestamp = true }
            fields.append((name, text))
        }
        if !hasTimestamp { fields.append(("timestamp", String(nowMilliseconds))) }
        switch TransactionParser.parse(fields, maximumAmount: validator.maximumAmount) {
        case .failure(let rejection):
            return .failure(Problem(status: .unprocessableContent, code: rejection.code, message: rejection.reason))
        case .success(let transaction):
            if let problem = validator.implausibleTimestamp(transaction.timestampMilliseconds, nowMilliseconds: nowMilliseconds) {
                // The dead-letter stream's code for the same refusal.
                return .failure(Problem(status: .unprocessableContent, code: "implausible_timestamp", message: problem))
            }
            return .success(validator.pseudonymizer?.apply(transaction) ?? transaction)
        }
    }

    /// A contract field of the wrong JSON type, as the stream path dead-letters it (``TransactionParser/typeRejection(field:kind:)``).
    static func typeProblem(_ name: String, _ value: FlatJSON.Value) -> Problem? {
        let kind: TransactionParser.JSONKind
        switch value {
        case .string, .number, .null: return nil
        case .bool: kind = .boolean
        case .object: kind = .object
        case .array: kind = .array
        }
        guard let rejection = TransactionParser.typeRejection(field: name, kind: kind) else { return nil }
        return Problem(status: .unprocessableContent, code: rejection.code, message: rejection.reason)
    }

    /// The text of member `name`, if it is a non-empty scalar.
    static func text(_ members: [FlatJSON.Member], _ name: String) -> String? {
        guard let value = members.first(where: { $0.name == name })?.value.fieldText, !value.isEmpty else { return nil }
        return value
    }

    /// The server's clock in epoch milliseconds.
    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
