#!/bin/bash
# Fills an archive (schema 4, made by any `fraudstream archive` command against it) with 100 daily partitions of
# 1,000,000 decisions each, in the shape the archiver writes, for README's EXPLAIN figures.
# Usage: PSQL="psql -h 127.0.0.1 -p 5440 -U fraudstream fraudstream" Fixtures/archive/fill-100m.sh 0 &  (and 1 & : even and odd days)
# About 40 GB on disk; keep max_wal_size small (2GB) so the WAL does not add as much again.
set -e
P=${PSQL:-psql -q -h 127.0.0.1 -p 5433 -U fraudstream fraudstream}
END=${END_DAY:-2026-12-07}
for d in $(seq 0 $(( ${DAYS:-100} - 1 ))); do
  [ $((d % 2)) -eq "${1:-0}" ] || continue
  day=$(date -u -d "$END - $d days" +%Y-%m-%d)
  next=$(date -u -d "$day + 1 day" +%Y-%m-%d)
  name=decisions_$(date -u -d "$day" +%Y%m%d)
  $P <<SQL
SET synchronous_commit = off;
CREATE TABLE IF NOT EXISTS $name PARTITION OF decisions FOR VALUES FROM ('$day 00:00:00+00') TO ('$next 00:00:00+00');
INSERT INTO decisions (decided_at, transaction_id, results_stream, entry_id, user_id, run_id, amount, decision, score, is_fraud,
  reasons, model_version, shadow_score, shadow_model_version, source, decided_by, source_entry_id, latency_ms, queue_ms,
  features_ms, scoring_ms, rules_version)
SELECT timestamptz '$day 00:00:00+00' + (i * 86.4) * interval '1 millisecond',
  't$d-' || i, 'fraud:results', (extract(epoch from timestamptz '$day')::bigint * 1000 + i / 12) || '-' || (i % 12),
  'u' || (hashint4(i + $d * 1000003) & 1048575), 'run-$d', round((random() * 500)::numeric, 2),
  CASE WHEN r < 0.97 THEN 'approve' WHEN r < 0.99 THEN 'review' ELSE 'decline' END, r, r >= 0.99,
  CASE WHEN r < 0.97 THEN '{}'::text[] WHEN r < 0.98 THEN '{velocity_burst}' WHEN r < 0.99 THEN '{new_device,geo_jump}' ELSE '{ip_blocklist}' END,
  1 + ($d / 25), NULL, NULL, CASE WHEN i % 10 = 0 THEN 'api' ELSE 'stream' END, 'worker-1', '', 12.5, 0.5, 1.2, 0.3, 1 + ($d / 25)
FROM (SELECT i, random() AS r FROM generate_series(0, 999999) AS i) g;
SQL
  echo "$name filled"
done
