import Foundation
import RedisClient
import RedisHarness
import Testing

@testable import FraudCore

/// Features fraud teams define, on a Redis Cluster: each entity's state shares its hash tag, so its one call per
/// transaction goes to the primary that holds it, and four entities spread over three primaries.
@Suite("Entity features on a real local Redis Cluster")
struct ClusterEntityFeaturesTests {
    @Test func fourEntitiesOverThreePrimariesMatchBruteForce() async throws {
        try await withRedisCluster(primaries: 3, replicasPerPrimary: 0) { cluster in
            let redis = try await RedisConnection.connect(cluster.configuration)
            try await EntityFeaturesTests.checkAgainstBruteForce(redis)
            // The entities' state sits on every primary.
            var primariesHolding = 0
            for node in cluster.nodes {
                var configuration = node.configuration
                configuration.clusterMode = .disabled
                let direct = try await RedisConnection.connect(configuration)
                let keys = try await direct.send(RedisCommand("DBSIZE")).int ?? 0
                if keys > 0 { primariesHolding += 1 }
            }
            #expect(primariesHolding == 3)
        }
    }
}
