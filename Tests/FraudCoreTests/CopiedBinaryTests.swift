import FraudCore
import Foundation
import RedisClient
import RedisHarness
import Testing

@Suite("fraudstream executable copied on its own")
struct CopiedBinaryTests {
    @Test func copiedBinaryLoadsTheFunctionsLibrariesCompiledIntoIt() async throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("fraudstream-copy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("fraudstream")
        // Copied by `cp`, not in this process: a test forking meanwhile would inherit the open file for writing,
        // and running the copy would then fail with "Text file busy".
        let copied = try await FraudStreamBinary.run([FraudStreamBinary.path, copy.path], executable: "/bin/cp")
        try #require(copied.status == 0, "\(copied.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["fraudstream"])

        try await withRedisServer { server in
            let outcome = try await FraudStreamBinary.run(
                ["doctor", "--load-functions", "--redis-url", "redis://127.0.0.1:\(server.port)"], executable: copy.path)
            #expect(outcome.status == 0, "\(outcome.standardError)")
            #expect(outcome.standardOutput.contains("functions"))
            #expect(outcome.standardOutput.contains("loaded fraudstream, fraudstream_results, fraudstream_lease"))

            let redis = try await RedisConnection.connect(server.configuration)
            let listing = try await redis.send(RedisCommand("FUNCTION", "LIST"))
            let names = (listing.array ?? []).compactMap { library -> String? in
                let fields = library.array ?? []
                guard let index = fields.firstIndex(where: { $0.string == "library_name" }), index + 1 < fields.count else {
                    return nil
                }
                return fields[index + 1].string
            }
            #expect(Set(names) == ["fraudstream", "fraudstream_results", "fraudstream_lease"])
        }
    }
}
