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

    /// Decodes `buffer` as `type`, mapping JSON errors to `400`.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, shape: String) throws(Problem) -> T {
        let data = Data(buffer.readableBytesView)
        if data.isEmpty { throw Problem(status: .badRequest, code: "empty_body", message: "the body is empty; expected \(shape)") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) {
            let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            throw Problem(
                status: .badRequest, code: "malformed_json",
                message: "the body is not valid JSON" + (detail.map { ": \($0)" } ?? ""))
        } catch {
            throw Problem(status: .badRequest, code: "invalid_body", message: "the body is not \(shape)")
        }
    }

    /// One transaction from its JSON fields: the contract's parser, the server's clock for a missing
    /// `timestamp`, and the worker's plausibility window.
    static func transaction(
        _ object: [String: JSONScalar], validator: EntryValidator, nowMilliseconds: Int64
    ) -> Result<Transaction, Problem> {
        var fields: [(String, String)] = []
        fields.reserveCapacity(object.count + 1)
        for (name, value) in object {
            if let text = value.text { fields.append((name, text)) }
        }
        if object["timestamp"]?.text == nil { fields.append(("timestamp", String(nowMilliseconds))) }
        switch TransactionParser.parse(fields) {
        case .failure(let rejection):
            return .failure(Problem(status: .unprocessableContent, code: rejection.code, message: rejection.reason))
        case .success(let transaction):
            if let problem = validator.implausibleTimestamp(transaction.timestampMilliseconds, nowMilliseconds: nowMilliseconds) {
                return .failure(Problem(status: .unprocessableContent, code: "invalid_timestamp", message: problem))
            }
            return .success(transaction)
        }
    }

    /// The server's clock in epoch milliseconds.
    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
