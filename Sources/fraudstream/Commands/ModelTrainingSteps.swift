import FraudArchive
import FraudCore
import Foundation
import Logging
import RedisClient

/// What `prepare` and `train` do alike once the history's feature rows are computed: the analysts' labelled
/// reviews join the training rows, then trees and the baseline are trained, evaluated and stored as a new version.
enum ModelTrainingSteps {
    /// Adds the labelled reviews of the review queues of `streams` to `history` and says how many, on a line that
    /// starts with `title` (padded to the column of the other lines).
    static func addLabelledReviews(to history: inout TrainingHistory, streams: StreamNames, title: String, on redis: RedisConnection) async throws {
        let labelled = try await ReviewQueue(streams: streams).labelledRows(on: redis)
        history.addLabelledReviews(labelled)
        printLine("\(title.padding(toLength: 11, withPad: " ", startingAt: 0)) \(labelled.count) labelled reviews "
            + "(\(labelled.filter(\.fraud).count) fraud) join the training rows")
    }

    /// Adds the labelled review decisions archived in PostgreSQL (``ArchiveStore/labelledDecisions(width:)``) instead of
    /// the review queues in Redis, which keep only the newest entries.
    static func addArchivedLabelledReviews(to history: inout TrainingHistory, postgres: PostgresSettings, title: String) async throws {
        let store = try await ArchiveStore.open(postgres, logger: Logger(label: "fraudstream.archive"))
        let labelled: [(features: [Double], fraud: Bool, transactionId: String)]
        do {
            labelled = try await store.labelledDecisions(width: FeatureSchema.count)
            await store.close()
        } catch {
            await store.close()
            throw FraudError(.postgres, "reading the archive's labelled reviews failed: \(PostgresSettings.describe(error))")
        }
        history.addLabelledReviews(labelled)
        printLine("\(title.padding(toLength: 11, withPad: " ", startingAt: 0)) \(labelled.count) labelled reviews from the archive "
            + "(\(labelled.filter(\.fraud).count) fraud) join the training rows")
    }

    /// Trains on `history` with `options`, prints the held-out evaluation, stores the record under `namespace`
    /// (promoted unless `promote` is false), prints where, and returns the version.
    static func trainAndStore(
        _ history: TrainingHistory, options: TrainingOptions, threshold: Double, trainingData: String, promote: Bool,
        namespace: String, started: ContinuousClock.Instant, on redis: RedisConnection
    ) async throws -> Int {
        let record = ModelTraining.train(
            history: history.transactions, rows: history.rows, parameters: options.parameters, threshold: threshold,
            trainingData: trainingData, now: Int64(Date().timeIntervalSince1970 * 1000))
        let models = ModelStore(namespace: namespace)
        let version = try await models.save(record, promote: false, on: redis)
        printLine("train       \(options.parameters.trees) trees in \(String(format: "%.1f", record.metrics.trainingSeconds)) s "
            + "(\(elapsedText(ContinuousClock.now - started)))")
        printLine("")
        printLine(ModelReport.evaluationTable(record))
        printLine("")
        // Promoted as `models promote` does: audited with the actor, and under maker-checker proposed instead.
        let approvals = ApprovalStore(namespace: namespace)
        let needsApproval = promote ? try await approvals.isRequired(.modelsPromote, on: redis) : false
        if promote && !needsApproval { try await models.promote(version, on: redis) }
        printLine("model       version \(version) stored as \(models.key(version))"
            + (needsApproval ? " (promotion proposed for approval)" : promote ? ", promoted to latest" : " (not promoted)"))
        if needsApproval {
            try await ApprovalsCommand.propose(.modelsPromote, target: String(version), approvals: approvals, redis: redis)
        }
        printLine("done in \(elapsedText(ContinuousClock.now - started))")
        return version
    }
}
