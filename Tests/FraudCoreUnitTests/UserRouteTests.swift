import Testing

@testable import FraudCore

/// One routing function for both paths: partition, then connection within it.
@Suite("User routing (no server)")
struct UserRouteTests {
    @Test func aUserHasOnePartitionAndOneConnectionAndConnectionsSpreadWithinAPartition() {
        let users = (0..<400).map { "user_\($0)" }
        for partitions in [1, 2, 3, 4] {
            for connections in [1, 2, 3, 4] {
                var used: [Int: Set<Int>] = [:]
                for user in users {
                    let partition = UserRoute.partition(of: user, count: partitions)
                    // The partition is the one producers compute (CRC16 mod count), unchanged.
                    #expect(partition == StreamNames.partitionIndex(forUser: user, count: partitions))
                    #expect((0..<partitions).contains(partition))
                    let connection = UserRoute.connection(of: user, count: connections, partitions: partitions)
                    #expect(connection == UserRoute.connection(of: user, count: connections, partitions: partitions))
                    used[partition, default: []].insert(connection)
                }
                // Every partition's users spread over every connection (the same hash mod both would pin them).
                for partition in 0..<partitions {
                    #expect(used[partition] == Set(0..<connections), "partitions \(partitions), connections \(connections)")
                }
            }
        }
    }
}
