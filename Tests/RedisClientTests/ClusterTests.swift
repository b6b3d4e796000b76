import Foundation
import RedisHarness
import Testing

@testable import RedisClient

/// Against a real local cluster: 3 primaries, 3 replicas (`RedisCluster`).
@Suite("Redis Cluster routing against a real local cluster")
struct ClusterTests {
    /// A direct connection to one node (no routing), for setting the cluster up behind the client's back.
    static func direct(_ node: RedisServer) async throws -> RedisConnection {
        var configuration = node.configuration
        configuration.clusterMode = .disabled
        return try await RedisConnection.connect(configuration, name: "direct-\(node.port)")
    }

    /// The port of the primary serving `key`'s slot, read from `CLUSTER SLOTS` of any node.
    static func ownerPort(of key: String, in cluster: RedisCluster) async throws -> Int {
        let slot = HashSlot.of(key)
        for node in cluster.nodes {
            guard let reply = try? await direct(node).send(RedisCommand("CLUSTER", "SLOTS")) else { continue }
            let ranges = try ClusterState.parseSlots(reply, seedHost: "127.0.0.1")
            return try #require(ranges.first { $0.slots.contains(slot) }).primary.port
        }
        throw RedisError(code: .connectionRefused, message: "no node answered")
    }

    @Test func pipelinesSplitByNodeAndRepliesKeepTheCallersOrder() async throws {
        try await withRedisCluster { cluster in
            let redis = try await RedisConnection.connect(cluster.configuration)
            #expect(await redis.isCluster)
            let count = 1_000
            let sets = (0..<count).map { RedisCommand("SET", "key-\($0)", "value-\($0)") }
            let gets = (0..<count).map { RedisCommand("GET", "key-\($0)") }
            let replies = try await redis.pipeline(sets + [RedisCommand("PING")] + gets)
            #expect(replies.prefix(count).allSatisfy { $0.string == "OK" })
            #expect(replies[count].string == "PONG")
            #expect(Array(replies.suffix(count)).map(\.string) == (0..<count).map { "value-\($0)" })
            // The keys are spread over the three primaries, and each primary holds exactly the keys of its slots.
            let primaries = try await redis.primaryConnections()
            #expect(primaries.count == 3)
            var total = 0
            for primary in primaries {
                let size = try await primary.send(RedisCommand("DBSIZE")).int ?? 0
                #expect(size > 200, "a primary holds \(size) of \(count) keys")
                total += size
            }
            #expect(total == count)
            let shape = try await redis.clusterShape()
            #expect(shape.count == 3 && shape.allSatisfy { $0.replicas.count == 1 } && shape.map(\.slots).reduce(0, +) == 16_384)

            // Functions load on every primary; a call runs where its keys are.
            let library = "#!lua name=clustertest\nredis.register_function('ct_incr', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)"
            _ = try await redis.loadFunctionLibrary(library)
            let calls = (0..<30).map { RedisCommand("FCALL", "ct_incr", 1, "counter-\($0)", $0) }
            #expect(try await redis.pipeline(calls).map(\.int) == (0..<30).map { Optional($0) })
        }
    }

    @Test func keysInDifferentSlotsAreRefusedBeforeSending() async throws {
        try await withRedisCluster { cluster in
            let redis = try await RedisConnection.connect(cluster.configuration)
            await #expect {
                try await redis.send(RedisCommand("MGET", "foo", "bar"))
            } throws: { error in
                (error as? RedisError)?.code == .crossSlot
            }
            // Same hash tag, same slot: fine.
            _ = try await redis.send(RedisCommand("MSET", "a{t}", "1", "b{t}", "2"))
            #expect(try await redis.send(RedisCommand("MGET", "a{t}", "b{t}")).array?.map(\.string) == ["1", "2"])
        }
    }

    @Test func askAndMovedAreFollowedWhileASlotMigrates() async throws {
        try await withRedisCluster { cluster in
            let redis = try await RedisConnection.connect(cluster.configuration)
            let first = "first{migrating}", second = "second{migrating}"
            _ = try await redis.pipeline([RedisCommand("SET", first, "1"), RedisCommand("SET", second, "2")])
            let slot = HashSlot.of(first)
            let sourcePort = try await Self.ownerPort(of: first, in: cluster)
            let source = try await Self.direct(try #require(cluster.node(port: sourcePort)))
            let targetNode = try #require(
                try await redis.primaryConnections().map(\.configuration).compactMap { configuration -> Int? in
                    guard case .tcp(_, let port) = configuration.endpoint, port != sourcePort else { return nil }
                    return port
                }.first.flatMap { cluster.node(port: $0) })
            let target = try await Self.direct(targetNode)
            let sourceId = try #require(try await source.send(RedisCommand("CLUSTER", "MYID")).string)
            let targetId = try #require(try await target.send(RedisCommand("CLUSTER", "MYID")).string)

            // Mid-migration: the first key has moved, the second has not. The source answers ASK for the first.
            _ = try await target.send(RedisCommand("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId))
            _ = try await source.send(RedisCommand("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId))
            _ = try await source.send(RedisCommand("MIGRATE", "127.0.0.1", targetNode.port, "", 0, 5_000, "KEYS", first))
            let asked = try await source.pipeline([RedisCommand("GET", first)])[0]
            #expect(asked.errorMessage?.hasPrefix("ASK \(slot) ") == true, "the source redirects with ASK: \(asked)")
            #expect(try await redis.pipeline([RedisCommand("GET", first), RedisCommand("GET", second)]).map(\.string) == ["1", "2"])

            // Migration done: the slot belongs to the target; the client's map is stale and gets MOVED.
            _ = try await source.send(RedisCommand("MIGRATE", "127.0.0.1", targetNode.port, "", 0, 5_000, "KEYS", second))
            for node in cluster.nodes.prefix(6) {
                _ = try? await Self.direct(node).send(RedisCommand("CLUSTER", "SETSLOT", slot, "NODE", targetId))
            }
            let moved = try await source.pipeline([RedisCommand("GET", second)])[0]
            #expect(moved.errorMessage?.hasPrefix("MOVED \(slot) 127.0.0.1:\(targetNode.port)") == true, "\(moved)")
            #expect(try await redis.send(RedisCommand("GET", second)).string == "2")
            _ = try await redis.send(RedisCommand("SET", first, "3"))
            #expect(try await target.send(RedisCommand("GET", first)).string == "3")
            let shape = try await redis.clusterShape()
            #expect(shape.first { $0.primary == "127.0.0.1:\(targetNode.port)" }.map(\.slots) ?? 0 > 5_461)
        }
    }

    @Test func aPromotedReplicaTakesOverAfterThePrimaryDies() async throws {
        try await withRedisCluster { cluster in
            let redis = try await RedisConnection.connect(cluster.configuration)
            let key = "survivor"
            let primaryPort = try await Self.ownerPort(of: key, in: cluster)
            // Replication is asynchronous: only a write a replica has acknowledged survives the primary for sure.
            // WAIT counts the writes of its own connection, so the write and the WAIT go through one connection to
            // the key's primary.
            let owner = try await Self.direct(try #require(cluster.node(port: primaryPort)))
            _ = try await owner.send(RedisCommand("SET", key, "before"))
            #expect(try await owner.send(RedisCommand("WAIT", 1, 10_000)).int == 1, "the replica acknowledged the write")
            // The test talks to the cluster through a node that is not the one being killed.
            let victim = try #require(cluster.node(port: primaryPort))
            await victim.kill()
            let started = ContinuousClock.now
            var value: String?
            var failures = 0
            var lastError = ""
            while ContinuousClock.now - started < .seconds(45) {
                do {
                    value = try await redis.send(RedisCommand("GET", key)).string
                    if value != nil { break }
                    lastError = "GET answered nil"
                } catch {
                    failures += 1
                    lastError = "\(error)"
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(value == "before", "the replica, promoted, serves the key (after \(failures) failed tries; last: \(lastError))")
            let newOwner = try await Self.ownerPort(of: key, in: cluster)
            #expect(newOwner != primaryPort)
            _ = try await redis.send(RedisCommand("SET", key, "after"))
            #expect(try await redis.send(RedisCommand("GET", key)).string == "after")
        }
    }
}
