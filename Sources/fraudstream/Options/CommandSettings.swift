import FraudCore
import Foundation
import RedisClient

extension SettingsResolver {
    /// The resolver of one command: the flags it parsed over the process environment. The only
    /// place the command line reads the environment.
    static func command(_ flagGroups: [Setting: String?]...) -> SettingsResolver {
        var flags: [Setting: String] = [:]
        for group in flagGroups {
            for (setting, value) in group {
                if let value { flags[setting] = value }
            }
        }
        return SettingsResolver(flags: flags, environment: ProcessInfo.processInfo.environment)
    }

    /// The streams these settings name on `redis`, resolved as the worker resolves them: partitioned by
    /// `PARTITIONS`, and tagged on a Redis Cluster (`REDIS_CLUSTER=1`, or unset and the server is one).
    func streams(on redis: RedisConnection) async -> StreamNames {
        StreamNames(resolving: self, serverIsCluster: await redis.isCluster)
    }
}
