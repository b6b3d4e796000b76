import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// Which synthetic world: generated from `--users/--days/--seed`, or read from `--world DIR`.
struct WorldOptions: ParsableArguments {
    @Option(help: "Users to generate.")
    var users: Int = 5_000

    @Option(help: "Days of history to generate.")
    var days: Int = 30

    @Option(help: "Seed of the generator (same seed, same world).")
    var seed: UInt64 = 42

    @Option(help: "Read the world from a directory written by the generator (e.g. Fixtures/world-sample) instead.")
    var world: String?

    @Option(help: "Add this many incidents of device_card_cycling fraud (one device, many cards: a cross-entity pattern) to the history.")
    var cardCyclingIncidents: Int = 0

    func validate() throws {
        guard users > 0, days > 0 else { throw ValidationError("--users and --days must be positive") }
        guard (0...100_000).contains(cardCyclingIncidents) else { throw ValidationError("--card-cycling-incidents must be between 0 and 100000") }
    }

    /// Generates or reads the world.
    func load() throws -> SyntheticWorld {
        if let world {
            return try WorldFile.read(from: URL(fileURLWithPath: world))
        }
        var configuration = WorldConfiguration()
        configuration.users = users
        configuration.days = days
        configuration.seed = seed
        configuration.cardCyclingIncidents = cardCyclingIncidents
        return WorldGenerator.generate(configuration)
    }

    /// A warning on stderr when the world comes from `--users`/`--seed` that differ from those `prepare` stored in
    /// `namespace`, e.g. `backtesting a world of 200 users (seed 42), but prepare stored …: pass --users 5000 …`.
    func warnIfUnlikePrepared(
        _ synthetic: SyntheticWorld, namespace: String, doing: String, purpose: String, on redis: RedisConnection
    ) async throws {
        guard world == nil, let prepared = try await PreparedWorld.load(namespace: namespace, on: redis),
            prepared.users != synthetic.configuration.users || prepared.seed != synthetic.configuration.seed
        else { return }
        printLineToStandardError(
            "warning: \(doing) a world of \(synthetic.configuration.users) users (seed \(synthetic.configuration.seed)), but prepare stored "
                + "\(prepared.users) users (seed \(prepared.seed)): pass --users \(prepared.users) --seed \(prepared.seed) (and its --days) "
                + "to \(purpose)")
    }

    /// A short description for logs and the model record.
    func describe(_ synthetic: SyntheticWorld) -> String {
        if let world { return "world \(world)" }
        return "synthetic users=\(users) days=\(days) seed=\(seed)" + (cardCyclingIncidents == 0 ? "" : " card-cycling=\(cardCyclingIncidents)")
    }
}

/// Model hyper-parameters and the blocklist's size.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Boosting iterations (trees).")
    var trees: Int = 200

    @Option(help: "Maximum tree depth.")
    var depth: Int = 8

    @Option(help: "Maximum leaves per tree (leaf-wise growth).")
    var leaves: Int = 31

    @Option(help: "Shrinkage (learning rate).")
    var learningRate: Double = 0.1

    @Option(help: "Minimum rows per leaf.")
    var minSamplesLeaf: Int = 20

    @Option(help: "Decision threshold for precision and recall (env FRAUD_THRESHOLD, default 0.7).")
    var threshold: Double?

    @Option(help: "Capacity of the IP blocklist's counting Bloom filter.")
    var blocklistCapacity: Int = FeatureStore.defaultBlocklistCapacity

    @Option(help: "False-positive rate of the IP blocklist's counting Bloom filter at capacity.")
    var blocklistFalsePositiveRate: Double = FeatureStore.defaultBlocklistFalsePositiveRate

    func validate() throws {
        guard trees > 0, depth > 0, leaves > 1, learningRate > 0, minSamplesLeaf > 0 else {
            throw ValidationError("--trees, --depth, --learning-rate and --min-samples-leaf must be positive, --leaves > 1")
        }
        guard blocklistFalsePositiveRate > 0, blocklistFalsePositiveRate < 1, blocklistCapacity > 0 else {
            throw ValidationError("--blocklist-false-positive-rate must be in (0, 1) and --blocklist-capacity positive")
        }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be in 0...1") }
    }

    /// The flags of this group that override settings.
    var flags: [Setting: String?] { [Settings.threshold: threshold.map { "\($0)" }] }

    /// The hyper-parameters.
    var parameters: GBDTParameters {
        var parameters = GBDTParameters()
        parameters.trees = trees
        parameters.maxDepth = depth
        parameters.maxLeaves = leaves
        parameters.learningRate = learningRate
        parameters.minSamplesLeaf = minSamplesLeaf
        return parameters
    }
}
