import RedisClient

/// Where a user's transactions go, on both paths: one hash of the user id (CRC16, XMODEM, Redis Cluster's) picks
/// the input partition and, within it, the connection that featurizes them (the worker's feature fetcher, the API's
/// scoring lane). A user is therefore always on one partition and one connection, and its transactions keep their
/// arrival order; the connection is independent of the partition (a worker of one partition uses all its fetchers).
/// Any producer can compute the partition.
public enum UserRoute {
    /// The user id's hash.
    public static func hash(_ user: String) -> Int {
        Int(HashSlot.crc16(Array(user.utf8)))
    }

    /// The partition of `user` among `count` (0 when there is one).
    public static func partition(of user: String, count: Int) -> Int {
        count <= 1 ? 0 : hash(user) % count
    }

    /// The connection of `user` among `count`, within its partition when the input has `partitions` of them.
    public static func connection(of user: String, count: Int, partitions: Int = 1) -> Int {
        count <= 1 ? 0 : (hash(user) / max(1, partitions)) % count
    }
}
