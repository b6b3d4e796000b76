import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream review`: the review queue, and the analyst's label for each decision.
struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "List review decisions waiting for an analyst, and resolve them as fraud or legit.",
        discussion: """
            Every review decision goes to the review queue (<namespace>:review, per partition <namespace>:review:{p<i>}) \
            in the same call that writes its result. A resolution is a label (<namespace>:labels); the next \
            train (or prepare --retrain) trains on labelled reviews alongside the history.
            """,
        subcommands: [List.self, Resolve.self],
        defaultSubcommand: List.self
    )

    static func queue(_ connection: ConnectionOptions, _ namespace: NamespaceOptions, partitions: Int?) async throws -> (ReviewQueue, RedisConnection) {
        let settings = SettingsResolver.command(connection.flags, namespace.flags, [Settings.partitions: partitions.map(String.init)])
        let redis = try await RedisConnection.connect(try connection.configuration(settings, name: "fraudstream-review"))
        return (ReviewQueue(streams: await settings.streams(on: redis)), redis)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Review decisions without a label, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Option(help: "How many, per partition.") var count = 20
        @Option(help: "Partitions of the streams [PARTITIONS].") var partitions: Int?
        @Flag(help: "Labelled ones too.") var all = false

        func run() async throws {
            let (queue, redis) = try await ReviewCommand.queue(connection, namespace, partitions: partitions)
            let items = try await queue.items(count: count, all: all, on: redis)
            if items.isEmpty { print("no review decisions waiting") }
            for item in items {
                print("\(item.transactionId)  user \(item.userId)  amount \(item.amount)  score \(item.score)  \(item.reasons)  run \(item.runId)")
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Label a review decision of the queue: fraud or legit (an id the queue does not hold is an error; labels import labels any id).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The transaction id.") var transactionId: String
        @Argument(help: "fraud or legit.") var verdict: String
        @Option(help: "Partitions of the streams [PARTITIONS].") var partitions: Int?

        func validate() throws {
            guard ["fraud", "legit"].contains(verdict) else { throw ValidationError("the verdict is fraud or legit, not '\(verdict)'") }
        }

        func run() async throws {
            let (queue, redis) = try await ReviewCommand.queue(connection, namespace, partitions: partitions)
            guard try await queue.item(transactionId: transactionId, on: redis) != nil else {
                throw FraudError(
                    .notFound,
                    "no review decision for transaction '\(transactionId)' in \(queue.keys.map(\.stream).joined(separator: ", ")) "
                        + "(review list shows them; labels import labels a transaction that was not reviewed)")
            }
            try await queue.label([(transactionId, verdict == "fraud")], action: "review.resolve", on: redis)
            print("labelled \(transactionId) \(verdict)")
        }
    }
}

/// `fraudstream labels import FILE`: chargebacks and other known outcomes, as labels for the next retraining.
struct LabelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labels", abstract: "Import labels (chargebacks, confirmed fraud or legit) for the next train (or prepare --retrain).",
        subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read transaction_id,label lines (label: fraud, legit, 1 or 0; # comments and blank lines ignored; each id once).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The file.") var file: String

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw FraudError(.invalidSetting, "cannot read \(file)") }
            var labels: [(transactionId: String, fraud: Bool)] = []
            var lineOf: [String: Int] = [:]
            for (offset, line) in String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
                let text = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
                let fields = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if fields.isEmpty || (fields.count == 1 && fields[0].isEmpty) { continue }
                if offset == 0 && fields.first == "transaction_id" { continue }
                guard fields.count == 2, !fields[0].isEmpty, ["fraud", "legit", "1", "0"].contains(fields[1].lowercased()) else {
                    throw FraudError(.invalidData, "\(file): line \(offset + 1): expected transaction_id,fraud|legit|1|0")
                }
                // A transaction listed twice has no one outcome: refused before anything is written.
                if let earlier = lineOf[fields[0]] {
                    throw FraudError(
                        .invalidData, "\(file): transaction '\(fields[0])' is listed twice, on lines \(earlier) and \(offset + 1); nothing imported")
                }
                lineOf[fields[0]] = offset + 1
                labels.append((fields[0], ["fraud", "1"].contains(fields[1].lowercased())))
            }
            let (queue, redis) = try await ReviewCommand.queue(connection, namespace, partitions: nil)
            try await queue.label(labels, action: "labels.import", source: (file as NSString).lastPathComponent, on: redis)
            print("imported \(labels.count) labels")
        }
    }
}
