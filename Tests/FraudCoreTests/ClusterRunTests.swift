import Foundation
import RedisClient
import RedisHarness
import FraudServer
import Testing

@testable import FraudCore

/// The product on a real local Redis Cluster (3 primaries, 3 replicas), through the binary as a user runs it.
@Suite("FraudStream on a real local Redis Cluster")
struct ClusterRunTests {
    @Test func prepareGenerateWorkerAndMonitorRunOnACluster() async throws {
        try await withRedisCluster { cluster in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(cluster.nodes[0].port)", "--cluster"]
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "300", "--days", "3", "--trees", "20"] + redisArguments)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            let count = 1_500
            let generate = try await FraudStreamBinary.run(
                ["generate", "--count", String(count), "--tps", "5000", "--run-id", "cluster-run"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")

            let redis = try await RedisConnection.connect(cluster.configuration)
            #expect(await redis.isCluster)
            let streams = StreamNames(namespace: "fraud", partition: 0)
            #expect(try await redis.send(RedisCommand("XLEN", streams.transactions)).int == count)
            try await ChildProcess.run(["worker", "--consumer-name", "cluster-worker", "--block-ms", "100", "--fetchers", "2"] + redisArguments) { worker in
                try await waitUntil("every transaction has a result", timeout: .seconds(60)) {
                    try await redis.send(RedisCommand("XLEN", streams.results)).int == count
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            // Exactly one result per transaction, nothing pending.
            let results = try await redis.send(RedisCommand("XRANGE", streams.results, "-", "+")).array ?? []
            let ids = results.compactMap { entry -> String? in
                let fields = entry.array?.last?.array ?? []
                guard let index = fields.firstIndex(where: { $0.string == "transaction_id" }), index + 1 < fields.count else { return nil }
                return fields[index + 1].string
            }
            #expect(ids.count == count && Set(ids).count == count)
            let pending = try await redis.send(XPendingSummary(stream: streams.transactions, group: streams.consumerGroup)).count
            #expect(pending == 0)

            // The statistics as monitor --stats reads them.
            let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--json", "--run-id", "cluster-run"] + redisArguments)
            #expect(stats.status == 0, "\(stats.standardError)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
            #expect(object["transactions"] as? Int == count, "\(stats.standardOutput.prefix(400))")

            // doctor reports the cluster's shape.
            let doctor = try await FraudStreamBinary.run(["doctor"] + redisArguments)
            #expect(doctor.status == 0, "\(doctor.standardError)")
            #expect(doctor.standardOutput.contains("Redis Cluster: 3 primaries, 3 replicas, 16384 of 16384 slots served"), "\(doctor.standardOutput)")
            #expect(doctor.standardOutput.components(separatedBy: "replicas 127.0.0.1:").count - 1 == 3)

            // The users' feature state is spread over all three primaries.
            let keyspace = Keyspace(namespace: "fraud")
            for primary in try await redis.primaryConnections() {
                let windows = try await keyspace.keys(matching: "fraud:{u*}:window", on: primary)
                #expect(windows.count > 30, "a primary holds \(windows.count) of the users' windows")
            }
        }
    }

    @Test func aClusterOverTLSServesTheWorker() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await withRedisCluster(tls: certificates) { cluster in
            let redisArguments = ["--redis-url", cluster.nodes[0].url, "--cluster"] + cluster.nodes[0].tlsArguments
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "200", "--days", "2", "--trees", "10"] + redisArguments)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            let count = 800
            let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "5000", "--run-id", "tls"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")
            let redis = try await RedisConnection.connect(cluster.configuration)
            #expect(await redis.isCluster)
            let streams = StreamNames(namespace: "fraud", partition: 0)
            try await ChildProcess.run(["worker", "--consumer-name", "tls-worker", "--block-ms", "100"] + redisArguments) { worker in
                try await waitUntil("every transaction has a result", timeout: .seconds(60)) {
                    try await redis.send(RedisCommand("XLEN", streams.results)).int == count
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            // The users' state is spread over every primary, each reached over TLS.
            for primary in try await redis.primaryConnections() {
                #expect(primary.configuration.tls != nil)
                #expect(try await Keyspace(namespace: "fraud").keys(matching: "fraud:{u*}:window", on: primary).count > 10)
            }
        }
    }

    @Test func fourPartitionsSpreadOverThePrimariesAndEveryTransactionHasOneResult() async throws {
        try await withRedisCluster { cluster in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(cluster.nodes[0].port)", "--cluster", "--partitions", "4"]
            let connectionOnly = Array(redisArguments.prefix(3))
            #expect(try await FraudStreamBinary.run(["prepare", "--users", "300", "--days", "3", "--trees", "20"] + connectionOnly).status == 0)
            let count = 4_000
            let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "8000", "--run-id", "p4"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")
            let redis = try await RedisConnection.connect(cluster.configuration)
            let streams = StreamNames(namespace: "fraud").partitioned(count: 4)
            var lengths: [Int] = []
            for partition in streams.partitions { lengths.append(try await redis.send(RedisCommand("XLEN", partition.transactions)).int ?? 0) }
            #expect(lengths.reduce(0, +) == count && lengths.allSatisfy { $0 > count / 8 }, "\(lengths)")
            // The four partitions' slots are served by more than one primary.
            var owners = Set<Int>()
            for partition in streams.partitions { owners.insert(try await ClusterTestSupport.ownerPort(of: partition.transactions, in: cluster)) }
            #expect(owners.count >= 2, "partitions on \(owners)")
            // Each user's transactions are all in its partition.
            for partition in streams.partitions {
                let entries = try await redis.send(XRange(stream: partition.transactions, count: 200))
                for entry in entries {
                    let user = try #require(entry.value(of: "user_id"))
                    #expect(StreamNames.partitionIndex(forUser: user, count: 4) == partition.partitionIndex)
                }
            }

            try await ChildProcess.run(["worker", "--consumer-name", "all-partitions", "--block-ms", "100"] + redisArguments) { worker in
                try await waitUntil("every partition is drained", timeout: .seconds(60)) {
                    var written = 0
                    for partition in streams.partitions { written += try await redis.send(RedisCommand("XLEN", partition.results)).int ?? 0 }
                    return written == count
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            var ids: [String] = []
            for partition in streams.partitions {
                ids += try await Self.resultIds(partition.results, on: redis)
                #expect(try await redis.send(XPendingSummary(stream: partition.transactions, group: partition.consumerGroup)).count == 0)
            }
            #expect(ids.count == count && Set(ids).count == count)
            let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--json", "--run-id", "p4"] + redisArguments)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
            #expect(object["transactions"] as? Int == count, "\(stats.standardOutput.prefix(300)) \(stats.standardError)")
        }
    }

    @Test func serveAndLoadTestRunOnAClusterWithTwoPartitions() async throws {
        try await withRedisCluster { cluster in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(cluster.nodes[1].port)", "--cluster", "--partitions", "2"]
            #expect(try await FraudStreamBinary.run(["prepare", "--users", "300", "--days", "3", "--trees", "20"] + Array(redisArguments.prefix(3))).status == 0)
            let redis = try await RedisConnection.connect(cluster.configuration)
            let streams = StreamNames(namespace: "fraud").partitioned(count: 2)
            let port = try RedisServer.freePort()
            // An API key made with the command line on the cluster (its transaction routed to the keys' slot).
            let created = try await FraudStreamBinary.run(["apikeys", "create", "--name", "cluster", "--scope", "score,read"] + redisArguments.prefix(3))
            #expect(created.status == 0, "\(created.standardError)")
            let key = created.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
            try await ChildProcess.run(["serve", "--port", String(port), "--log-level", "warning"] + redisArguments) { server in
                var client: HTTPConnection?
                try await waitUntil("the server answers", timeout: .seconds(60)) {
                    client = try? await HTTPConnection.connect(host: "127.0.0.1", port: port, headers: [("Authorization", "Bearer \(key)")])
                    return client != nil
                }
                let http = try #require(client)
                let requests = 40
                for index in 0..<requests {
                    let body = "{\"transaction_id\": \"api-\(index)\", \"user_id\": \"u\(index)\", \"amount\": 25.5, \"merchant_id\": \"m1\", \"run_id\": \"api-run\"}"
                    let reply = try await http.request(.POST, "/v1/score", json: body)
                    #expect(reply.status == 200, "\(reply.text)")
                }
                // Each decision is recorded in its user's partition.
                try await waitUntil("every decision is recorded") {
                    var total = 0
                    for partition in streams.partitions { total += try await redis.send(RedisCommand("XLEN", partition.results)).int ?? 0 }
                    return total == requests
                }
                for partition in streams.partitions {
                    for entry in try await redis.send(XRange(stream: partition.results, count: 100)) {
                        #expect(streams.partition(forUser: entry.value(of: "user_id") ?? "").partitionIndex == partition.partitionIndex)
                    }
                }
                let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--json", "--run-id", "api-run"] + redisArguments)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
                #expect(object["transactions"] as? Int == requests, "\(stats.standardOutput.prefix(300))")
                await http.close()
                server.send(SIGTERM)
                #expect(try await server.waitForExit() == .exited(0), "\(server.standardError.suffix(500))")
            }
            // load-test starts its workers with the same partitions and waits until both are drained.
            let load = try await FraudStreamBinary.run(
                ["load-test", "--count", "2000", "--tps", "4000", "--workers", "1", "--run-id", "load-run"] + redisArguments, timeout: .seconds(180))
            #expect(load.status == 0, "\(load.standardOutput.suffix(800)) \(load.standardError.suffix(500))")
            #expect(load.standardOutput.contains("2000 of 2000 transactions have a result"), "\(load.standardOutput.suffix(800))")
        }
    }

    /// Without `--cluster` (REDIS_CLUSTER unset) every command asks the server, as the worker does, and names the
    /// cluster's streams: `generate` used to write to `fraud:transactions`, which no cluster worker reads.
    @Test func commandsWithoutTheClusterFlagFindTheClusterAndNameItsStreams() async throws {
        try await withRedisCluster(primaries: 3, replicasPerPrimary: 0) { cluster in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(cluster.nodes[2].port)"]
            let prepare = try await FraudStreamBinary.run(["prepare", "--users", "200", "--days", "3", "--trees", "10"] + redisArguments)
            #expect(prepare.status == 0, "\(prepare.standardError)")
            let count = 600
            let generate = try await FraudStreamBinary.run(["generate", "--count", String(count), "--tps", "3000", "--run-id", "auto"] + redisArguments)
            #expect(generate.status == 0, "\(generate.standardError)")
            #expect(generate.standardOutput.contains("→ fraud:transactions:{p0}"), "\(generate.standardOutput)")
            let redis = try await RedisConnection.connect(cluster.configuration)
            let streams = StreamNames(namespace: "fraud", partition: 0)
            #expect(try await redis.send(RedisCommand("XLEN", streams.transactions)).int == count)
            #expect(try await redis.send(RedisCommand("EXISTS", "fraud:transactions")).int == 0)
            try await ChildProcess.run(["worker", "--consumer-name", "auto-worker", "--block-ms", "100"] + redisArguments) { worker in
                try await waitUntil("every transaction has a result", timeout: .seconds(90)) {
                    try await redis.send(RedisCommand("XLEN", streams.results)).int == count
                }
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "stderr: \(worker.standardError)")
            }
            let stats = try await FraudStreamBinary.run(["monitor", "--stats", "--json", "--run-id", "auto"] + redisArguments)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(stats.standardOutput.utf8)) as? [String: Any])
            #expect(object["transactions"] as? Int == count, "\(stats.standardOutput.prefix(300)) \(stats.standardError)")
            let latest = try await FraudStreamBinary.run(["monitor", "--latest", "--json", "--count", "3"] + redisArguments)
            #expect((try JSONSerialization.jsonObject(with: Data(latest.standardOutput.utf8)) as? [Any])?.count == 3, "\(latest.standardError)")
            let review = try await FraudStreamBinary.run(["review", "list", "--all", "--count", "1"] + redisArguments)
            #expect(review.status == 0, "\(review.standardError)")
            // load-test: its generator, its workers and its reader all on {p0}.
            let load = try await FraudStreamBinary.run(
                ["load-test", "--count", "400", "--tps", "2000", "--run-id", "auto-load"] + redisArguments, timeout: .seconds(180))
            #expect(load.status == 0, "\(load.standardOutput.suffix(800)) \(load.standardError.suffix(500))")
            #expect(load.standardOutput.contains("400 of 400 transactions have a result"), "\(load.standardOutput.suffix(800))")
            #expect(try await redis.send(RedisCommand("EXISTS", "fraud:transactions")).int == 0)
        }
    }

    @Test func aWorkerRefusesStreamsInDifferentSlotsWithOneLine() async throws {
        try await withRedisCluster { cluster in
            // Auto-detected cluster, with an input stream named into a slot of its own (its tag {a}, the others' {p0}).
            let outcome = try await FraudStreamBinary.run(
                ["worker", "--stream", "in{a}", "--redis-url", "redis://127.0.0.1:\(cluster.nodes[1].port)"])
            #expect(outcome.status == 64)
            #expect(outcome.standardError.contains("must share a hash tag") && outcome.standardError.split(separator: "\n").count == 1,
                    "\(outcome.standardError)")
        }
    }

    @Test func doctorWarnsAboutAPrimaryWithoutAReplica() async throws {
        try await withRedisCluster(primaries: 3, replicasPerPrimary: 0) { cluster in
            let doctor = try await FraudStreamBinary.run(["doctor", "--redis-url", "redis://127.0.0.1:\(cluster.nodes[2].port)"])
            #expect(doctor.status == 0)
            #expect(doctor.standardOutput.contains("Redis Cluster: 3 primaries, 0 replicas"), "\(doctor.standardOutput)")
            #expect(doctor.standardOutput.components(separatedBy: "no replica: if it fails").count - 1 == 3)
            #expect(doctor.standardOutput.contains("warn  cluster-node"))
        }
    }

    /// Transaction ids of the results in `stream`, with repeats.
    static func resultIds(_ stream: String, on redis: RedisConnection) async throws -> [String] {
        let results = try await redis.send(RedisCommand("XRANGE", stream, "-", "+")).array ?? []
        return results.compactMap { entry -> String? in
            let fields = entry.array?.last?.array ?? []
            guard let index = fields.firstIndex(where: { $0.string == "transaction_id" }), index + 1 < fields.count else { return nil }
            return fields[index + 1].string
        }
    }

    @Test func aWorkerCarriesOnWhenItsStreamsPrimaryFailsOver() async throws {
        try await withRedisCluster { cluster in
            let redisArguments = ["--redis-url", "redis://127.0.0.1:\(cluster.nodes[0].port)", "--cluster"]
            #expect(try await FraudStreamBinary.run(["prepare", "--users", "300", "--days", "3", "--trees", "20"] + redisArguments).status == 0)
            let count = 20_000
            #expect(try await FraudStreamBinary.run(
                ["generate", "--count", String(count), "--tps", "20000", "--run-id", "failover-run"] + redisArguments).status == 0)
            let redis = try await RedisConnection.connect(cluster.configuration)
            let streams = StreamNames(namespace: "fraud", partition: 0)
            // The backlog is on the replica before anything fails: this test is about the worker, not the producer.
            // WAIT counts its own connection's writes, and replication keeps order: a write in the streams' slot
            // acknowledged by the replica means everything the generator wrote there before it is on the replica too.
            let ownerPort = try await ClusterTestSupport.ownerPort(of: streams.transactions, in: cluster)
            var direct = try #require(cluster.node(port: ownerPort)).configuration
            direct.clusterMode = .disabled
            let primary = try await RedisConnection.connect(direct)
            _ = try await primary.send(RedisCommand("SET", "fraud:replication-mark:{p0}", "1"))
            #expect(try await primary.send(RedisCommand("WAIT", 1, 10_000)).int == 1)

            try await ChildProcess.run(
                ["worker", "--consumer-name", "survivor", "--block-ms", "100", "--batch-size", "64", "--claim-idle-ms", "2000"]
                    + redisArguments
            ) { worker in
                try await waitUntil("the worker is under way", timeout: .seconds(60)) {
                    try await redis.send(RedisCommand("XLEN", streams.results)).int ?? 0 > 2_000
                }
                await (try #require(cluster.node(port: ownerPort))).kill()
                let killedAt = ContinuousClock.now
                // The replica is promoted, the worker finds it and drains the rest, by itself.
                try await waitUntil("every transaction has a result on the promoted replica", timeout: .seconds(120), pollEvery: .milliseconds(500)) {
                    guard let length = try? await redis.send(RedisCommand("XLEN", streams.results)).int else { return false }
                    return length >= count
                }
                let recovery = ContinuousClock.now - killedAt
                let ids = try await Self.resultIds(streams.results, on: redis)
                let distinct = Set(ids)
                let pending = try await redis.send(XPendingSummary(stream: streams.transactions, group: streams.consumerGroup)).count
                print("failover: \(count) transactions, \(ids.count) results on the promoted replica, \(distinct.count) distinct, "
                    + "\(ids.count - distinct.count) repeated, \(count - distinct.count) without a result, \(pending) pending; "
                    + "all written \(recovery) after the primary was killed")
                #expect(distinct.count == count, "every transaction has a result")
                #expect(ids.count == count, "exactly one result each on the surviving side")
                #expect(pending == 0)
                worker.send(SIGTERM)
                #expect(try await worker.waitForExit() == .exited(0), "the worker carried on and stops cleanly: \(worker.standardError.suffix(800))")
            }
        }
    }
}

/// Shared by the cluster suites.
enum ClusterTestSupport {
    /// The port of the primary serving `key`'s slot, from `CLUSTER SLOTS` of the first node that answers.
    static func ownerPort(of key: String, in cluster: RedisCluster) async throws -> Int {
        for node in cluster.nodes {
            var configuration = node.configuration
            configuration.clusterMode = .disabled
            guard let connection = try? await RedisConnection.connect(configuration),
                  let reply = try? await connection.send(RedisCommand("CLUSTER", "SLOTS")).array
            else { continue }
            let slot = HashSlot.of(key)
            for range in reply {
                guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                      (start...end).contains(slot), let port = parts[2].array?[1].int
                else { continue }
                return port
            }
        }
        throw RedisError(code: .connectionRefused, message: "no cluster node answered CLUSTER SLOTS")
    }
}
