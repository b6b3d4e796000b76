import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// The product over `rediss://`, through the binary as a user runs it, against Debian's redis-server with a TLS port
/// that wants a client certificate (mutual TLS).
@Suite("FraudStream over TLS to a real redis-server")
struct TLSRunTests {
    @Test func prepareGenerateAndWorkerRunOverMutualTLS() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let server = try await RedisServer.start(tls: certificates, requireClientCertificates: true)
        do {
            try await runsOverTLS(server, certificates)
            await server.stop()
        } catch {
            await server.stop()
            throw error
        }
    }

    private func runsOverTLS(_ server: RedisServer, _ certificates: TestCertificates) async throws {
        let redisArguments = ["--redis-url", server.url] + server.tlsArguments
        let prepare = try await FraudStreamBinary.run(["prepare", "--users", "200", "--days", "2", "--trees", "10"] + redisArguments)
        #expect(prepare.status == 0, "\(prepare.standardError)")
        let count = 600
        let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "5000", "--run-id", "tls"] + redisArguments)
        #expect(generate.status == 0, "\(generate.standardError)")
        let redis = try await RedisConnection.connect(server.configuration)
        let streams = StreamNames(namespace: "fraud")
        try await ChildProcess.run(["worker", "--consumer-name", "tls-worker", "--block-ms", "100"] + redisArguments) { worker in
            try await waitUntil("every transaction has a result", timeout: .seconds(60)) {
                try await redis.send(RedisCommand("XLEN", streams.results)).int == count
            }
            worker.send(SIGTERM)
            #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
        }
        // serve over TLS (its Redis I/O falls back from the event loop to threads): one request scored and recorded.
        let created = try await FraudStreamBinary.run(["apikeys", "create", "--name", "tls-serve", "--scope", "score"] + redisArguments)
        let key = try #require(created.standardOutput.split(separator: "\n").last.map(String.init))
        let answer = try await ChildProcess.scoreOnceThroughServe(redisArguments, key: key, transactionId: "tls-api-1")
        #expect(answer["degraded"] as? Bool != true, "\(answer)")
        try await waitUntil("the API decision is recorded", timeout: .seconds(60)) {
            try await redis.send(RedisCommand("XLEN", streams.results)).int == count + 1
        }
        // Every client the server saw came over TLS: its clients list names no plaintext port (it has none), and the
        // worker's connections were there.
        let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
        #expect(doctor.status == 0, "\(doctor.standardError)")
        #expect(doctor.standardOutput.contains("on (rediss://: server certificate verified against \(certificates.ca)"), "\(doctor.standardOutput)")

        // Wrong settings: one readable line and a non-zero exit each.
        let environmentFree = ["REDIS_URL": "", "REDIS_CA": ""]
        for (arguments, expected) in [
            (["--redis-url", "redis://127.0.0.1:\(server.port)"], "use rediss://"),
            (["--redis-url", server.url, "--redis-ca", certificates.otherCA, "--redis-cert", certificates.clientCertificate,
              "--redis-key", certificates.clientKey], "not signed by the CA in \(certificates.otherCA)"),
            (["--redis-url", server.url, "--redis-ca", "/nonexistent/ca.pem"], "cannot read the Redis TLS file /nonexistent/ca.pem"),
            (["--redis-url", "redis://127.0.0.1:\(server.port)", "--redis-ca", certificates.ca], "needs TLS: use a rediss:// URL"),
        ] {
            let run = try await FraudStreamBinary.run(["doctor"] + arguments, environment: environmentFree)
            #expect(run.status != 0)
            let lines = run.standardError.split(separator: "\n")
            #expect(lines.count == 1 && run.standardError.contains(expected), "\(arguments): \(run.standardError)")
        }
    }
}
