-- The statements `archive show`, `search` and `export` send, with literals, against the archive fill-100m.sh made.
-- psql -f Fixtures/archive/explain-100m.sql (README: The decision archive, "Measured at 100 million decisions").
\echo '-- show t17-423 (no time bounds: every partition)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT * FROM decisions WHERE transaction_id = 't17-423' AND decided_at >= '1970-01-01' AND decided_at < '3000-01-01' ORDER BY decided_at) d;
\echo '-- show t17-423 --from 2026-11-20 --to 2026-11-21'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT * FROM decisions WHERE transaction_id = 't17-423' AND decided_at >= '2026-11-20' AND decided_at < '2026-11-21' ORDER BY decided_at) d;
\echo '-- search --user u1010837 --from 2026-11-01 --to 2026-12-08'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons, model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions WHERE user_id = 'u1010837' AND decided_at >= '2026-11-01' AND decided_at < '2026-12-08' ORDER BY decided_at DESC LIMIT 100) d;
\echo '-- search --user u1010837 (no time bounds)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons, model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions WHERE user_id = 'u1010837' ORDER BY decided_at DESC LIMIT 100) d;
\echo '-- search --decision decline --from 2026-11-20 --to 2026-11-21'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons, model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions WHERE decided_at >= '2026-11-20' AND decided_at < '2026-11-21' AND decision = 'decline' ORDER BY decided_at DESC LIMIT 100) d;
\echo '-- search --reason ip_blocklist --from 2026-11-20 --to 2026-11-21'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons, model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions WHERE decided_at >= '2026-11-20' AND decided_at < '2026-11-21' AND reasons @> ARRAY['ip_blocklist'::text] AND reasons <> '{}' ORDER BY decided_at DESC LIMIT 100) d;
\echo '-- search --model-version 2 --from 2026-11-20'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT row_to_json(d)::text FROM (SELECT decided_at, transaction_id, user_id, amount, decision, score, reasons, model_version, rules_version, shadow_score, source, decided_by, latency_ms FROM decisions WHERE decided_at >= '2026-11-20' AND model_version = 2 ORDER BY decided_at DESC LIMIT 100) d;
\echo '-- export --from 2026-11-20T10:00 --to 2026-11-20T10:01 (one minute, about 700 rows)'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT d.transaction_id, d.score, l.is_fraud FROM decisions d LEFT JOIN labels l ON l.transaction_id = d.transaction_id WHERE d.decided_at >= '2026-11-20 10:00' AND d.decided_at < '2026-11-20 10:01' ORDER BY d.decided_at;
