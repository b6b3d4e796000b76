import FraudCore
import Logging
import Foundation
import PostgresNIO

/// The archive's schema, as numbered migrations applied in order at start, each in its own transaction with its
/// number recorded in `fraudstream_schema`. A database whose schema is newer than this binary knows is refused (an
/// older binary must not write rows a newer layout does not expect).
public enum ArchiveSchema {
    /// The migrations, the first one being version 1.
    public static let migrations: [String] = [
        // 1: decisions (partitioned by day on decided_at), audit entries, labels and reviews.
        """
        CREATE TABLE decisions (
            decided_at timestamptz NOT NULL,
            transaction_id text NOT NULL,
            results_stream text NOT NULL,
            entry_id text NOT NULL,
            user_id text NOT NULL,
            run_id text NOT NULL,
            amount double precision NOT NULL,
            decision text NOT NULL,
            score double precision NOT NULL,
            is_fraud boolean NOT NULL,
            reasons text[] NOT NULL,
            model_version bigint NOT NULL,
            shadow_score double precision,
            shadow_model_version bigint,
            source text NOT NULL,
            decided_by text NOT NULL,
            source_entry_id text NOT NULL,
            latency_ms double precision NOT NULL,
            queue_ms double precision NOT NULL,
            features_ms double precision NOT NULL,
            scoring_ms double precision NOT NULL,
            entry jsonb NOT NULL,
            archived_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (transaction_id, decided_at)
        ) PARTITION BY RANGE (decided_at);
        CREATE INDEX decisions_user ON decisions (user_id, decided_at);
        CREATE INDEX decisions_time ON decisions (decided_at);
        CREATE INDEX decisions_decision ON decisions (decision, decided_at);
        CREATE INDEX decisions_model ON decisions (model_version, decided_at);
        CREATE INDEX decisions_reasons ON decisions USING gin (reasons);
        CREATE TABLE audit_entries (
            audit_stream text NOT NULL,
            entry_id text NOT NULL,
            at timestamptz NOT NULL,
            actor text NOT NULL,
            action text NOT NULL,
            target text NOT NULL,
            change text NOT NULL,
            request_id text NOT NULL,
            PRIMARY KEY (audit_stream, entry_id)
        );
        CREATE INDEX audit_entries_at ON audit_entries (at);
        CREATE INDEX audit_entries_target ON audit_entries (target);
        CREATE TABLE archive_positions (source text PRIMARY KEY, last_id text NOT NULL);
        CREATE TABLE labels (
            transaction_id text NOT NULL,
            is_fraud boolean NOT NULL,
            source text NOT NULL,
            archived_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (transaction_id)
        );
        """,
        // 2: the review queue's entries, with the feature vector each review decision was made on.
        """
        CREATE TABLE reviews (
            review_stream text NOT NULL,
            entry_id text NOT NULL,
            queued_at timestamptz NOT NULL,
            transaction_id text NOT NULL,
            user_id text NOT NULL,
            run_id text NOT NULL,
            score double precision NOT NULL,
            reasons text[] NOT NULL,
            amount double precision NOT NULL,
            features double precision[] NOT NULL,
            PRIMARY KEY (review_stream, entry_id)
        );
        CREATE INDEX reviews_transaction ON reviews (transaction_id);
        """,
        // 3: each decision's rule set version and, from entries written with RESULT_EVIDENCE=full, the transaction's
        // contract fields and the feature vector it was decided on (NULL where the entry did not carry them).
        """
        ALTER TABLE decisions
            ADD COLUMN rules_version bigint,
            ADD COLUMN merchant_id text,
            ADD COLUMN currency text,
            ADD COLUMN card_provider text,
            ADD COLUMN merchant_category text,
            ADD COLUMN lat double precision,
            ADD COLUMN lon double precision,
            ADD COLUMN device_id text,
            ADD COLUMN ip text,
            ADD COLUMN event_at timestamptz,
            ADD COLUMN features double precision[];
        """,
        // 4: cheaper rows. `entry` keeps only the fields of a results entry that have no column of their own (NULL when
        // there are none, as usual: the columns hold the rest; rows archived before keep their whole entry), and the
        // reasons' GIN index covers only the decisions with reasons (most have none; a reason search asks for that too).
        """
        ALTER TABLE decisions ALTER COLUMN entry DROP NOT NULL;
        DROP INDEX decisions_reasons;
        CREATE INDEX decisions_reasons ON decisions USING gin (reasons) WHERE reasons <> '{}';
        """,
    ]

    /// The newest version this binary knows.
    public static var version: Int { migrations.count }

    /// Applies what is missing; returns the versions applied. Throws, as one readable line, when the database has a
    /// newer schema than ``version``.
    @discardableResult
    public static func migrate(_ connection: PostgresConnection, logger: Logger) async throws(FraudError) -> [Int] {
        do {
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS fraudstream_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var current = 0
            for try await (version) in try await connection.query("SELECT coalesce(max(version), 0) FROM fraudstream_schema", logger: logger)
                .decode(Int.self)
            {
                current = version
            }
            if current > version {
                throw FraudError(
                    .invalidSetting,
                    "the archive's schema is version \(current), newer than this fraudstream knows (\(version)): upgrade fraudstream")
            }
            var applied: [Int] = []
            for next in (current + 1)...max(current + 1, version) where next <= version {
                let sql = migrations[next - 1]
                try await connection.withTransaction(logger: logger) { transaction in
                    // Serialized against another archiver starting at the same moment.
                    try await transaction.query("LOCK TABLE fraudstream_schema IN EXCLUSIVE MODE", logger: logger)
                    let rows = try await transaction.query("SELECT 1 FROM fraudstream_schema WHERE version = \(next)", logger: logger)
                    var exists = false
                    for try await _ in rows { exists = true }
                    if exists { return }
                    for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                        try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await transaction.query("INSERT INTO fraudstream_schema (version) VALUES (\(next))", logger: logger)
                }
                applied.append(next)
            }
            return applied
        } catch let error as FraudError {
            throw error
        } catch {
            throw FraudError(.postgres, "migrating the archive schema failed: \(PostgresSettings.describe(error))")
        }
    }
}
