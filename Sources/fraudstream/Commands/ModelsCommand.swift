import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream models list|show|promote`.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, show, import, promote and shadow model versions stored in Redis.",
        subcommands: [List.self, Show.self, ModelImportCommand.self, Promote.self, Shadow.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List model versions; * marks the one workers serve.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions

        func run() async throws {
            let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-models"))
            let store = ModelStore(namespace: namespace.resolved)
            let latest = try await store.latestVersion(on: redis)
            let versions = try await store.versions(on: redis)
            if versions.isEmpty { print("no models under '\(namespace.resolved)': run `fraudstream prepare`") }
            for version in versions {
                do {
                    let record = try await store.load(version, on: redis)
                    print(ModelReport.listLine(record, isLatest: version == latest))
                } catch {
                    print("\(version == latest ? "* " : "  ")v\(version)  unusable: \(error)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one version's metadata, hyper-parameters and evaluation.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number (default: the promoted one).") var version: Int?
        @Flag(help: "Print the stored JSON, trees included.") var json = false

        func run() async throws {
            let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-models"))
            let store = ModelStore(namespace: namespace.resolved)
            let record = try await store.load(version, on: redis)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(record), as: UTF8.self))
                return
            }
            let created = Date(timeIntervalSince1970: Double(record.createdMilliseconds) / 1000)
            print("version     \(record.version)\(try await store.latestVersion(on: redis) == record.version ? " (latest)" : "")")
            print("created     \(created)")
            if let imported = record.imported {
                print(ModelReport.importedLines(record, imported).joined(separator: "\n"))
                return
            }
            print("kind        \(record.kind), \(record.ensemble.treeCount) trees")
            print("data        \(record.trainingData)")
            let parameters = record.parameters
            print("parameters  trees=\(parameters.trees) max_depth=\(parameters.maxDepth) max_leaves=\(parameters.maxLeaves) "
                + "learning_rate=\(parameters.learningRate) max_bins=\(parameters.maxBins) min_samples_leaf=\(parameters.minSamplesLeaf) "
                + "l2=\(parameters.l2Regularization) seed=\(parameters.seed)")
            print("features    \(record.featureNames.joined(separator: ","))")
            print("")
            print(ModelReport.evaluationTable(record))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a version the one workers serve; running workers switch between batches.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number.") var version: Int

        func run() async throws {
            let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-models"))
            let store = ModelStore(namespace: namespace.resolved)
            _ = try await store.load(version, on: redis)  // refuse to promote a model this build cannot serve
            let approvals = ApprovalStore(namespace: namespace.resolved)
            if try await approvals.isRequired(.modelsPromote, on: redis) {
                try await ApprovalsCommand.propose(.modelsPromote, target: String(version), approvals: approvals, redis: redis)
                return
            }
            try await store.promote(version, on: redis)
            print("promoted model version \(version)")
        }
    }

    struct Shadow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score every transaction with a second model version that decides nothing (champion/challenger).",
            discussion: "Results then carry shadow_score and shadow_model_version; monitor --stats compares both models on labelled traffic. Running workers pick it up within a second.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "Version number of the challenger.") var version: Int?
        @Flag(help: "Stop shadow scoring.") var off = false

        func validate() throws {
            if off == (version != nil) { throw ValidationError("give a version, or --off") }
        }

        func run() async throws {
            let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-models"))
            let store = ModelStore(namespace: namespace.resolved)
            if let version, try await store.latestVersion(on: redis) == version {
                printLineToStandardError("warning: version \(version) is the one served: the shadow compares it with itself")
            }
            try await store.setShadow(off ? nil : version, on: redis)
            print(off ? "shadow scoring off" : "shadow model version \(version ?? 0): every transaction is scored with it too")
        }
    }
}
