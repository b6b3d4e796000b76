import Foundation
import FraudServer
import Testing

@testable import FraudCore

/// `fraudstream serve` against slow and idle clients: half-sent requests and idle connections are closed, and a
/// well-behaved client is answered meanwhile. A real server on a real redis-server, real sockets.
@Suite("Scoring API connection hygiene against a real redis-server")
struct ConnectionHygieneTests {
    /// A TCP connection to 127.0.0.1:`port` that has sent `bytes`.
    static func openSocket(port: Int, sending bytes: String) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        _ = bytes.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        return fd
    }

    /// Whether the server has written something to `fd` or closed it (nothing is consumed).
    static func hasAnsweredOrClosed(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return count >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Whether the server closed `fd` (a read sees the end of the stream, or a reset).
    static func isClosedByServer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    @Test func halfSentRequestsAndIdleConnectionsAreClosedWhileAGoodClientIsAnswered() async throws {
        try await ScoringAPIHarness.with(configure: { $0.idleTimeoutMilliseconds = 1_000 }) { api in
            // 2,000 slowloris connections: a request line and part of a header, never finished.
            // (Opened on a thread of their own: connect() blocks while the server's accept backlog is full.)
            let port = api.port
            let slow = try await offThePool {
                (0..<2_000).compactMap { _ in
                    Self.openSocket(port: port, sending: "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
                }
            }
            defer { for fd in slow { close(fd) } }
            #expect(slow.count == 2_000)
            // A well-behaved client is answered meanwhile.
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("hygiene-1", user: 4)).status == 200)
            // The server closes every half-sent request after the idle timeout, however long the machine takes to get there.
            try await waitUntil("the server closes the half-sent requests", timeout: .seconds(120), pollEvery: .milliseconds(200)) {
                slow.allSatisfy(Self.isClosedByServer)
            }
            // And a keep-alive connection left idle.
            try await waitUntil("the server closes an idle connection", timeout: .seconds(60), pollEvery: .milliseconds(200)) {
                !client.isActive
            }
            // New clients are answered after all that.
            let fresh = try await api.connect()
            #expect(try await fresh.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("hygiene-2", user: 5)).status == 200)
            await fresh.close()
        }
    }

    /// `--max-connections 2`: a third connection waits (in the listen backlog) until one of the two closes, then is
    /// answered; nothing is refused or lost.
    @Test func pastMaxConnectionsANewOneWaitsForAFreeSlot() async throws {
        try await ScoringAPIHarness.with(configure: { $0.maxConnections = 2 }) { api in
            let first = try await api.connect()
            let second = try await api.connect()
            #expect(try await first.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("max-1", user: 6)).status == 200)
            #expect(try await second.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("max-2", user: 7)).status == 200)
            let third = try await api.connect()
            let waiting = Task { try await third.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("max-3", user: 8)).status }
            // While both slots are held the third is not served (a slower machine only makes this more certain).
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await api.results().contains { $0["transaction_id"] == "max-3" } == false)
            await first.close()
            #expect(try await waiting.value == 200)
            await second.close()
            await third.close()
        }
    }

    /// A body trickled in a byte at a time restarts the idle timer with each part, but not the request's own deadline:
    /// the server closes the connection before the body is complete, and answers a well-behaved client meanwhile.
    @Test func aTrickledBodyIsCutOffAtTheRequestTimeout() async throws {
        try await ScoringAPIHarness.with(configure: { $0.idleTimeoutMilliseconds = 10_000; $0.requestTimeoutMilliseconds = 1_500 }) { api in
            let port = api.port
            let head = "POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(api.apiKey)\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"
            let fd = try #require(try await offThePool { Self.openSocket(port: port, sending: head) })
            defer { close(fd) }
            var sent = 1
            // One byte every 100 ms, far within the idle timeout: 400 bytes would take 40 s.
            while sent < 399 && !Self.hasAnsweredOrClosed(fd) {
                try await Task.sleep(for: .milliseconds(100))
                _ = " ".withCString { send(fd, $0, 1, Int32(MSG_NOSIGNAL)) }
                sent += 1
            }
            #expect(sent < 399, "the server waited for the whole trickled body")
            // Closed, without an answer.
            var buffer = [UInt8](repeating: 0, count: 512)
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            #expect(count == 0, "\(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self))")
            let client = try await api.connect()
            #expect(try await client.request(.POST, "/v1/score", json: ScoringAPIHarness.transaction("trickle-1", user: 4)).status == 200)
            await client.close()
        }
    }

    @Test func badConnectionSettingsAreOneLine() async throws {
        let bad = try await FraudStreamBinary.run(["serve", "--idle-timeout-ms", "5", "--port", "0"])
        #expect(bad.status == 64, "\(bad.standardError)")
        #expect(bad.standardError.split(separator: "\n").count == 1, "\(bad.standardError)")
        let badRequest = try await FraudStreamBinary.run(["serve", "--request-timeout-ms", "0", "--port", "0"])
        #expect(badRequest.status == 64 && badRequest.standardError.contains("request-timeout-ms"), "\(badRequest.standardError)")
    }
}
