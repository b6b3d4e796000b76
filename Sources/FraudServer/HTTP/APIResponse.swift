import Foundation
import HTTPTypes
import Hummingbird

/// Responses of the API: JSON bodies, one error shape, plain text for the tutorial endpoint.
enum APIResponse {
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    /// `value` as a JSON body.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var fields = jsonHeaders
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A JSON body already written as text.
    static func jsonText(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: jsonHeaders, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// The error shape of every endpoint: `{"error": code, "message": text}`.
    struct ErrorBody: Encodable {
        var error: String
        var message: String
    }

    /// An error response.
    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        json(ErrorBody(error: code, message: message), status: status, headers: headers)
    }

    /// `503` with `Retry-After: 1`: the server's queue is full.
    /// `503 state_lost`: Redis lost the namespace's state, and nothing is decided from memory (``StateGuard``).
    static func stateLost() -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("Retry-After")!] = "5"
        return error(
            .serviceUnavailable, "state_lost",
            "Redis lost this namespace's state (model, rules, features); no decision is made until it has a model again", headers: headers)
    }

    static func overloaded(_ depth: Int, capacity: Int) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("Retry-After")!] = "1"
        return error(
            .serviceUnavailable, "overloaded",
            "the scoring queue is full (\(depth) of \(capacity) transactions in flight); retry after 1 s", headers: headers)
    }

    /// A plain-text body.
    static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
