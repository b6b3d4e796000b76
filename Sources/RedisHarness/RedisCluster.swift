import Foundation
import RedisClient

/// A local Redis Cluster for tests and benchmarks: `primaries` primaries with `replicasPerPrimary` replicas
/// each, every node a private `redis-server --cluster-enabled yes` on loopback, joined with
/// `redis-cli --cluster create … --cluster-replicas N --cluster-yes`. Ports are below 55000, so each node's
/// cluster bus (port + 10000) is a valid port too.
public final class RedisCluster: Sendable {
    /// Every node, primaries first as created (roles change after a failover).
    public let nodes: [RedisServer]

    private init(nodes: [RedisServer]) { self.nodes = nodes }

    /// How to reach the cluster: any node; the client discovers the rest.
    public var configuration: RedisConfiguration { nodes[0].configuration }

    /// A free port below 55000 whose bus port (+10000) is free too.
    public static func freeClusterPort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<45_000)
            if isFree(port) && isFree(port + 10_000) { return port }
        }
        throw RedisServer.StartError(description: "no free port pair (p, p+10000) below 55000")
    }

    private static func isFree(_ port: Int) -> Bool {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Starts the nodes, creates the cluster and waits until every node reports `cluster_state:ok`.
    public static func start(
        primaries: Int = 3, replicasPerPrimary: Int = 1, nodeTimeoutMilliseconds: Int = 2_000, tls certificates: TestCertificates? = nil
    ) async throws -> RedisCluster {
        var nodes: [RedisServer] = []
        do {
            for _ in 0..<(primaries * (1 + replicasPerPrimary)) {
                nodes.append(try await RedisServer.start(
                    extraArguments: [
                        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                        "--cluster-node-timeout", String(nodeTimeoutMilliseconds), "--cluster-require-full-coverage", "yes",
                    ] + (certificates == nil ? [] : ["--tls-cluster", "yes", "--tls-replication", "yes"]),
                    portChooser: freeClusterPort, tls: certificates))
            }
            let cluster = RedisCluster(nodes: nodes)
            try await cluster.create(replicasPerPrimary: replicasPerPrimary)
            try await cluster.waitUntilHealthy()
            return cluster
        } catch {
            for node in nodes { await node.stop() }
            throw error
        }
    }

    private func create(replicasPerPrimary: Int) async throws {
        let cli = try RedisServer.locate(RedisServer.Kind.selected == .valkey ? "valkey-cli" : "redis-cli")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cli)
        let tls = nodes[0].certificates.map {
            ["--tls", "--cacert", $0.ca, "--cert", $0.clientCertificate, "--key", $0.clientKey]
        } ?? []
        process.arguments = tls + ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
            + ["--cluster-replicas", String(replicasPerPrimary), "--cluster-yes"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RedisServer.StartError(description: "redis-cli --cluster create failed: \(text.suffix(600))")
        }
    }

    /// Waits until every running node reports `cluster_state:ok`, knows every node and sees all slots served.
    public func waitUntilHealthy(timeout: Duration = .seconds(30), nodes expected: [RedisServer]? = nil) async throws {
        let nodes = expected ?? self.nodes
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            var healthy = true
            for node in nodes {
                var configuration = node.configuration
                configuration.clusterMode = .disabled
                configuration.connectTimeoutMilliseconds = configuration.tls == nil ? 300 : 3_000
                let info = (try? await RedisConnection(configuration: configuration, name: "cluster-probe").send(RedisCommand("CLUSTER", "INFO")))?.string ?? ""
                if !(info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")) {
                    healthy = false
                    last = "127.0.0.1:\(node.port): \(info.split(separator: "\r\n").prefix(3).joined(separator: " "))"
                    break
                }
                // A replica that has never synced cannot be promoted (its data counts as too old): wait for its link.
                let replication = (try? await RedisConnection(configuration: configuration, name: "cluster-probe").send(RedisCommand("INFO", "replication")))?.string ?? ""
                if replication.contains("role:slave") && !replication.contains("master_link_status:up") {
                    healthy = false
                    last = "127.0.0.1:\(node.port): replica not linked to its primary yet"
                    break
                }
            }
            if healthy { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RedisServer.StartError(description: "the cluster did not become healthy: \(last)")
    }

    /// The node serving `port`, if it is one of these.
    public func node(port: Int) -> RedisServer? { nodes.first { $0.port == port } }

    /// Stops every node and removes their directories.
    public func stop() async {
        for node in nodes { await node.stop() }
    }

}

/// Runs `body` with a fresh local cluster (3 primaries, 3 replicas) and stops it afterwards, also when `body` throws.
public func withRedisCluster<T>(
    primaries: Int = 3, replicasPerPrimary: Int = 1, tls certificates: TestCertificates? = nil, _ body: (RedisCluster) async throws -> T
) async throws -> T {
    let cluster = try await RedisCluster.start(primaries: primaries, replicasPerPrimary: replicasPerPrimary, tls: certificates)
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}
