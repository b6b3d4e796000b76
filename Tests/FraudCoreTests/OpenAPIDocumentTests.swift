import Foundation
import FraudServer
import Testing

@testable import FraudCore

@Suite("OpenAPI document against the real server")
struct OpenAPIDocumentTests {
    typealias Harness = ScoringAPIHarness

    /// The document kept in the repository.
    static var repositoryDocument: Data {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try Data(contentsOf: root.appendingPathComponent("Sources/FraudServer/Resources/openapi.json"))
        }
    }

    /// A request for each documented operation that the server should answer with a documented status.
    static func body(for path: String, method: String) -> String? {
        switch (path, method) {
        case ("/v1/score", _): return Harness.transaction("openapi-1")
        case ("/v1/score/batch", _): return "{\"transactions\": [\(Harness.transaction("openapi-2"))]}"
        case ("/", _): return "{\"device_id\": \"d-openapi\", \"ip\": \"9.9.9.9\", \"transaction_id\": \"openapi-3\"}"
        default: return nil
        }
    }

    @Test func everyDocumentedOperationAnswersWithADocumentedStatusAndShape() async throws {
        try await Harness.with { api in
            let client = try await api.connect()
            let served = try await client.request(.GET, "/openapi.json")
            #expect(served.status == 200)
            #expect(Data(served.body) == (try Self.repositoryDocument))
            let document = try #require(try JSONSerialization.jsonObject(with: Data(served.body)) as? [String: Any])
            #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            let schemas = try #require((document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]])
            var checked = 0
            // PUT before GET and DELETE, so the IP the others ask about is on the blocklist.
            for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
                for method in ["put", "post", "get", "delete"] {
                    guard let operation = operations[method] as? [String: Any] else { continue }
                    let responses = try #require(operation["responses"] as? [String: Any])
                    let concretePath = path.replacingOccurrences(of: "{ip}", with: "9.9.9.9").replacingOccurrences(of: "{id}", with: "1")
                    let reply = try await client.request(
                        .init(rawValue: method.uppercased()), concretePath, body: Self.body(for: path, method: method).map { Array($0.utf8) })
                    let documented = responses["\(reply.status)"] as? [String: Any]
                    #expect(documented != nil, "\(method.uppercased()) \(path) answered \(reply.status), not documented: \(reply.text)")
                    // A JSON body with a named schema has the schema's required fields.
                    if let content = documented?["content"] as? [String: Any],
                        let json = content["application/json"] as? [String: Any],
                        let reference = (json["schema"] as? [String: Any])?["$ref"] as? String,
                        let schema = schemas[String(reference.split(separator: "/").last ?? "")],
                        let required = schema["required"] as? [String]
                    {
                        let object = try Harness.object(reply)
                        for field in required { #expect(object[field] != nil, "\(method) \(path): missing \(field) in \(reply.text)") }
                    }
                    checked += 1
                }
            }
            #expect(checked >= 10)
            await client.close()
        }
    }
}
