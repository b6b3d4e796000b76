#!lua name=fraudstream_results
-- fraudstream_results: the result functions, contract version 5 (5: fraud counts over time).
--
-- This library owns what a scored batch leaves behind: the results stream, the per-transaction result keys
-- (optional, off by default), the dead-letter stream, the per-run and per-worker statistics hashes with their
-- latency histograms, and the acknowledgement of the batch's input entries.
-- Every key it writes has a bound: the streams a MAXLEN, result keys their TTL, and each statistics key of a run
-- a TTL that every batch and every latency flush of the run refreshes (once per batch, not per transaction).
--
-- Why write and acknowledgement are one atomic call: if results were written and the acknowledgement sent
-- separately, a crash or a lost connection in between would leave written-but-pending entries that another
-- worker then claims and writes again. Inside one function, an entry is written exactly when it is
-- acknowledged. write_batch first asks XPENDING which of the batch's entries are still pending *for this
-- consumer*; entries already acknowledged (a retried call) or claimed by another consumer (this one was too
-- slow) are skipped, so a retry never writes twice. The end-to-end latency is taken on Redis's clock: TIME at
-- the write minus the input entry id's millisecond part (the time Redis appended the transaction).
--
-- record_decisions appends the scoring API's decisions (`fraudstream serve`) to the same results stream, marked
-- source=api, and counts them in the same run statistics, so `monitor --stats` covers both ways in.
--
-- The layouts of KEYS, ARGV and the replies are defined once, in Swift: WriteBatchCall, RecordDecisionsCall,
-- ResultLayout and MergeLatencyCall (Sources/FraudCore/Functions). The offsets of the recording calls come from a
-- prelude generated from those enums when the library is loaded (tables WK, WB, DL, RK, RD and RV: LuaPrelude);
-- FunctionContractTests checks both sides against a real server.

-- The counters of one run in a call, created on first use ('' counts under the run 'none').
local function run_stats(runs, run)
  if run == '' then run = 'none' end
  local s = runs[run]
  if not s then
    s = {processed = 0, predicted_fraud = 0, labelled = 0, tp = 0, fp = 0, tn = 0, fn = 0, dead_letters = 0,
         approve = 0, review = 0, decline = 0, latency_us_sum = 0, api = 0, degraded = 0}
    runs[run] = s
  end
  return s
end

-- Counts one written result: its decision, the confusion matrix when labelled ('' = unknown), its latency.
local function count_result(s, is_fraud, decision, label, latency_us)
  s.processed = s.processed + 1
  s.latency_us_sum = s.latency_us_sum + latency_us
  local predicted = is_fraud == '1'
  if predicted then s.predicted_fraud = s.predicted_fraud + 1 end
  s[decision] = (s[decision] or 0) + 1
  if label ~= '' then
    s.labelled = s.labelled + 1
    if label == '1' and predicted then s.tp = s.tp + 1
    elseif label == '1' then s.fn = s.fn + 1
    elseif predicted then s.fp = s.fp + 1
    else s.tn = s.tn + 1 end
  end
end

-- A review decision in the review queue, for an analyst: `fraudstream review list|resolve`.
local function add_review(key, maxlen, transaction, user, run, score, reasons, amount, source, features, model_version)
  local fields = {'transaction_id', transaction, 'user_id', user, 'run_id', run, 'score', score, 'reasons', reasons,
    'amount', amount, 'source_id', source, 'features', features, 'model_version', model_version}
  if maxlen > 0 then
    redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', unpack(fields))
  else
    redis.call('XADD', key, '*', unpack(fields))
  end
end

-- The shadow (challenger) model's confusion matrix on labelled results: shadow_tp, shadow_fp, shadow_tn, shadow_fn.
local function count_shadow(s, shadow_is_fraud, label)
  if shadow_is_fraud == '' or label == '' then return end
  local field
  if label == '1' then field = shadow_is_fraud == '1' and 'shadow_tp' or 'shadow_fn'
  else field = shadow_is_fraud == '1' and 'shadow_fp' or 'shadow_tn' end
  s[field] = (s[field] or 0) + 1
end

-- On labelled results: the shadow model's confusion matrix, and both models' score histograms by label (100
-- buckets, 'ps:<bucket>:<label>' and 'pss:…') for each model's PR AUC on the same traffic.
-- The buckets come precomputed (floor(score * 100) of the written score), so no number is formatted here.
local function count_models(s, label, bucket, shadow_bucket, shadow_is_fraud)
  if label == '' then return end
  count_shadow(s, shadow_is_fraud, label)
  local field = 'ps:' .. bucket .. ':' .. label
  s[field] = (s[field] or 0) + 1
  if shadow_bucket ~= '' then
    local shadow = 'pss:' .. shadow_bucket .. ':' .. label
    s[shadow] = (s[shadow] or 0) + 1
  end
end

-- Adds a call's counters to each run's hash and the writer's hash under it, once per run per call. `base` is
-- '<ns>:stats', or '<ns>:stats:{<tag>}' for a hash-tagged results stream (a cluster partition: same slot).
-- The per-rule, per-scenario and histogram fields (their names hold a ':') go to the run's hash only: readers
-- take them from there, and the writer's hash keeps its fixed set of counters.
local function write_run_stats(runs, base, worker, now_ms, stats_ttl)
  for run, s in pairs(runs) do
    local run_key = base .. ':run:' .. run
    local worker_key = run_key .. ':worker:' .. worker
    for index, key in ipairs({run_key, worker_key}) do
      for field, value in pairs(s) do
        if value ~= 0 and (index == 1 or not string.find(field, ':', 1, true)) then redis.call('HINCRBY', key, field, value) end
      end
      redis.call('HSETNX', key, 'first_ms', now_ms)
      redis.call('HSET', key, 'last_ms', now_ms)
      redis.call('EXPIRE', key, stats_ttl)
    end
    local workers_key = run_key .. ':workers'
    redis.call('SADD', workers_key, worker)
    redis.call('EXPIRE', workers_key, stats_ttl)
  end
end

-- Fraud counts over time, like a time-series module's but in core Redis: per second and per minute, per metric,
-- in hashes under the caller's prefix ('<ns>:ts:{<results stream>}', the results stream's slot):
--   <prefix>:s:<unix minute>  field '<second of the minute>:<metric>', kept min(retention, 1 h) + 1 min;
--   <prefix>:m:<unix hour>    field '<minute of the hour>:<metric>', kept retention + 1 h.
-- Metrics: scored, approve, review, decline, fraud (flagged), dead_letter, reason:<code>. The second is the
-- write's, on Redis's clock; a call adds its counts once per metric, in the same atomic call as the results.
-- Also counts each reason (rule) in the run's statistics `s`: hits 'reason:<code>', and with a label
-- 'reason_labelled:<code>' and 'reason_fraud:<code>' (a rule's precision: fraud / labelled).
local function count_series(series, decision, is_fraud, reasons, s, label)
  series.scored = (series.scored or 0) + 1
  series[decision] = (series[decision] or 0) + 1
  if is_fraud == '1' then series.fraud = (series.fraud or 0) + 1 end
  if reasons ~= '' then
    for reason in string.gmatch(reasons, '[^,]+') do
      local metric = 'reason:' .. reason
      series[metric] = (series[metric] or 0) + 1
      s[metric] = (s[metric] or 0) + 1
      if label ~= '' then
        local labelled = 'reason_labelled:' .. reason
        s[labelled] = (s[labelled] or 0) + 1
        if label == '1' then
          local fraud = 'reason_fraud:' .. reason
          s[fraud] = (s[fraud] or 0) + 1
        end
      end
    end
  end
end

local function write_series(prefix, retention, now_ms, series)
  if retention <= 0 or next(series) == nil then return end
  local second = math.floor(now_ms / 1000)
  local minute = math.floor(second / 60)
  local hour = math.floor(minute / 60)
  local per_second = prefix .. ':s:' .. minute
  local per_minute = prefix .. ':m:' .. hour
  local second_field = (second % 60) .. ':'
  local minute_field = (minute % 60) .. ':'
  for metric, count in pairs(series) do
    redis.call('HINCRBY', per_second, second_field .. metric, count)
    redis.call('HINCRBY', per_minute, minute_field .. metric, count)
  end
  redis.call('EXPIRE', per_second, math.min(retention, 3600) + 60)
  redis.call('EXPIRE', per_minute, retention + 3600)
end

-- The archive's hold on the results stream (ArchiveHold: a hash with the archived floor `id`, the bound `max` and the
-- `overrun` count), read once per call. Without one, the stream is trimmed to MAXLEN ~ maxlen as each entry is added.
-- With one, an entry is added with MAXLEN ~ max (the hard bound; each add at the bound is counted in `overrun`, since it
-- may push out an entry not yet archived), and trim_results then drops what is beyond maxlen only below the floor.
local function archive_hold(c)
  if c.hold == nil then
    local held = redis.call('HMGET', c.hold_key, 'id', 'max')
    if held[1] then
      c.hold = {floor = held[1], max = math.max(c.maxlen, tonumber(held[2]) or 0)}
    else
      c.hold = false
    end
  end
  return c.hold
end

local function add_result(c, fields)
  if c.maxlen <= 0 then
    redis.call('XADD', c.results, '*', unpack(fields))
    return
  end
  local hold = archive_hold(c)
  if not hold then
    redis.call('XADD', c.results, 'MAXLEN', '~', c.maxlen, '*', unpack(fields))
    return
  end
  if redis.call('XLEN', c.results) >= hold.max then redis.call('HINCRBY', c.hold_key, 'overrun', 1) end
  redis.call('XADD', c.results, 'MAXLEN', '~', hold.max, '*', unpack(fields))
end

-- Once per call, under a hold: what is beyond maxlen goes, but only entries below the archived floor.
local function trim_results(c)
  if c.maxlen <= 0 or not c.hold then return end
  local excess = redis.call('XLEN', c.results) - c.maxlen
  if excess > 0 then redis.call('XTRIM', c.results, 'MINID', '~', c.hold.floor, 'LIMIT', excess) end
end

-- One decided result, passed in the layout RV (generated from Swift's ResultLayout) starting at args[b]: its
-- results-stream entry, its review entry (with the feature vector), its run statistics (per-scenario recall,
-- per-rule hits and precision, both models' histograms) and the counts over time. Both ways in write through
-- here: the worker's write_batch and the scoring API's record_decisions. `c` holds the call's context: worker,
-- results stream, review queue, MAXLEN, result-key TTL, namespace, source ('' for the stream, 'api'), runs, series.
-- The contract fields of the full evidence, as the layout RV names them and the results stream names its fields.
local EVIDENCE_FIELDS = {'merchant_id', 'currency', 'card_provider', 'merchant_category', 'lat', 'lon',
  'device_id', 'ip', 'timestamp'}

local function write_result(c, args, b, latency_us)
  local latency = string.format('%.3f', latency_us / 1000)
  local transaction, user, run = args[b + RV.transaction_id], args[b + RV.user_id], args[b + RV.run_id]
  local score, is_fraud, decision = args[b + RV.score], args[b + RV.is_fraud], args[b + RV.decision]
  local reasons, label, amount = args[b + RV.reasons], args[b + RV.label], args[b + RV.amount]
  local source_id = args[b + RV.source_id]
  local fields = {'transaction_id', transaction, 'user_id', user, 'run_id', run,
    'score', score, 'is_fraud', is_fraud, 'decision', decision, 'reasons', reasons,
    'model_version', args[b + RV.model_version], 'worker_id', c.worker, 'source_id', source_id, 'latency_ms', latency,
    'queue_ms', args[b + RV.queue_milliseconds], 'features_ms', args[b + RV.features_milliseconds],
    'scoring_ms', args[b + RV.scoring_milliseconds], 'amount', amount}
  if args[b + RV.shadow_score] ~= '' then
    fields[#fields + 1], fields[#fields + 2] = 'shadow_score', args[b + RV.shadow_score]
    fields[#fields + 1], fields[#fields + 2] = 'shadow_model_version', args[b + RV.shadow_model_version]
  end
  if c.source ~= '' then fields[#fields + 1], fields[#fields + 2] = 'source', c.source end
  local rules_version = args[b + RV.rules_version]
  if rules_version ~= '' then fields[#fields + 1], fields[#fields + 2] = 'rules_version', rules_version end
  -- The full evidence (RESULT_EVIDENCE=full): the contract fields present and every decision's feature vector.
  if args[b + RV.evidence] == '1' then
    for _, name in ipairs(EVIDENCE_FIELDS) do
      local value = args[b + RV[name]]
      if value ~= '' then fields[#fields + 1], fields[#fields + 2] = name, value end
    end
    local vector = args[b + RV.features]
    if vector ~= '' then fields[#fields + 1], fields[#fields + 2] = 'features', vector end
  end
  add_result(c, fields)
  if decision == 'review' then
    add_review(c.review, c.maxlen, transaction, user, run, score, reasons, amount, source_id, args[b + RV.features],
      args[b + RV.model_version])
  end
  if c.ttl > 0 then
    redis.call('SET', c.ns .. ':result:' .. transaction, cjson.encode({
      transaction_id = transaction, user_id = user, run_id = run, score = score,
      is_fraud = is_fraud, decision = decision, reasons = reasons, model_version = args[b + RV.model_version],
      worker_id = c.worker, source_id = source_id, latency_ms = latency}), 'EX', c.ttl)
  end
  local s = run_stats(c.runs, run)
  count_result(s, is_fraud, decision, label, latency_us)
  count_models(s, label, args[b + RV.score_bucket], args[b + RV.shadow_score_bucket], args[b + RV.shadow_is_fraud])
  -- Recall per fraud scenario: labelled fraud of each scenario, and how much of it was declined / flagged.
  local scenario = args[b + RV.scenario]
  if scenario ~= '' then
    s['scenario:' .. scenario] = (s['scenario:' .. scenario] or 0) + 1
    if is_fraud == '1' then s['scenario_declined:' .. scenario] = (s['scenario_declined:' .. scenario] or 0) + 1 end
    if decision ~= 'approve' then s['scenario_flagged:' .. scenario] = (s['scenario_flagged:' .. scenario] or 0) + 1 end
  end
  count_series(c.series, decision, is_fraud, reasons, s, label)
  if c.source == 'api' then
    s.api = s.api + 1
    if args[b + RV.degraded] == '1' then s.degraded = s.degraded + 1 end
  end
end

-- The worker's write: results, dead letters and the acknowledgement of a batch in one call.
-- KEYS by WK (WriteBatchCall.Key): the input stream, the results stream, the dead-letter stream, the consumer-name
--   lease, the review queue.
-- ARGV by WB (WriteBatchCall.Argument): group, consumer, results MAXLEN (0 = none), result key TTL s (0 = none),
--   worker id, namespace, result count R, dead-letter count D, dead-letter MAXLEN, the batch's smallest and largest
--   entry id, values per result F, values per dead letter before its pairs H, statistics keys' TTL s, this worker's
--   lease token ('' = no check), time-series key prefix and retention s (0 = none), statistics key base;
--   from WB.first_record: R results in the layout RV (ResultLayout), then D dead letters of H values by DL
--   (source id, reason, run id, field count K) each followed by K name/value pairs, then the entry ids of duplicates
--   (transactions an earlier arrival decided): acknowledged, nothing written.
-- Returns: {written, dead_lettered, latency_us or -1 per result (in order)}
local function write_batch(keys, args)
  local group, consumer = args[WB.group], args[WB.consumer]
  local worker = args[WB.worker_id]
  local r, d = tonumber(args[WB.result_count]), tonumber(args[WB.dead_letter_count])
  local dlmax = tonumber(args[WB.dead_letter_max_length])
  local F, H = tonumber(args[WB.values_per_result]), tonumber(args[WB.dead_letter_header_values])
  local stats_ttl = args[WB.stats_ttl_seconds]
  local token = args[WB.lease_token]
  local series_prefix, series_retention = args[WB.time_series_prefix], tonumber(args[WB.time_series_retention_seconds])
  local stats_base = args[WB.stats_base]
  local first = WB.first_record

  -- Fencing: a worker whose consumer name another live worker holds (it was paused past its lease)
  -- writes and acknowledges nothing; an expired lease (an outage) is retaken by its keeper.
  if token ~= '' then
    local holder = redis.call('GET', keys[WK.consumer_lease])
    if holder and holder ~= token then
      return redis.error_reply('LEASELOST consumer name ' .. consumer .. ' is held by another worker')
    end
  end

  local ids = {}
  for i = 0, r - 1 do ids[#ids + 1] = args[first + i * F + RV.source_id] end
  local dead = {}
  local p = first + r * F
  for i = 1, d do
    local k = tonumber(args[p + DL.field_count])
    dead[#dead + 1] = {args[p + DL.source_id], args[p + DL.reason], args[p + DL.run_id], p + H, k}
    ids[#ids + 1] = args[p + DL.source_id]
    p = p + H + 2 * k
  end
  local duplicates = {}
  for i = p, #args do
    duplicates[#duplicates + 1] = args[i]
    ids[#ids + 1] = args[i]
  end
  if #ids == 0 then return {0, 0} end

  -- Which of these entries are still pending for this consumer?
  local minid, maxid = args[WB.lowest_id], args[WB.highest_id]
  local owned = {}
  local pending = redis.call('XPENDING', keys[WK.input_stream], group, minid, maxid, #ids * 4 + 10000, consumer)
  for _, entry in ipairs(pending) do owned[entry[1]] = true end

  local now = redis.call('TIME')
  local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local now_ms = math.floor(now_us / 1000)
  local acks = {}
  local out = {0, 0}
  local c = {worker = worker, results = keys[WK.results_stream], review = keys[WK.review_stream], hold_key = keys[WK.archive_hold],
    maxlen = tonumber(args[WB.results_max_length]),
    ttl = tonumber(args[WB.result_ttl_seconds]), ns = args[WB.namespace], source = '', runs = {}, series = {}}
  local runs, series = c.runs, c.series

  for i = 0, r - 1 do
    local b = first + i * F
    local id = args[b + RV.source_id]
    if owned[id] then
      -- The stream's latency: from the entry id's time (when it was added) to this write.
      local latency_us = now_us - tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1)) * 1000
      write_result(c, args, b, latency_us)
      acks[#acks + 1] = id
      out[1] = out[1] + 1
      out[#out + 1] = latency_us
    else
      out[#out + 1] = -1
    end
  end
  trim_results(c)

  for _, entry in ipairs(dead) do
    local id = entry[1]
    if owned[id] then
      local fields = {'source_id', id, 'reason', entry[2], 'worker_id', worker, 'failed_at_ms', now_ms}
      for j = 0, entry[5] - 1 do
        fields[#fields + 1] = args[entry[4] + 2 * j]
        fields[#fields + 1] = args[entry[4] + 2 * j + 1]
      end
      if dlmax > 0 then
        redis.call('XADD', keys[WK.dead_letter_stream], 'MAXLEN', '~', dlmax, '*', unpack(fields))
      else
        redis.call('XADD', keys[WK.dead_letter_stream], '*', unpack(fields))
      end
      local s = run_stats(runs, entry[3])
      s.dead_letters = s.dead_letters + 1
      series.dead_letter = (series.dead_letter or 0) + 1
      acks[#acks + 1] = id
      out[2] = out[2] + 1
    end
  end

  for _, id in ipairs(duplicates) do
    if owned[id] then acks[#acks + 1] = id end
  end

  -- One multi-id XACK, after every write above.
  if #acks > 0 then redis.call('XACK', keys[WK.input_stream], group, unpack(acks)) end

  write_run_stats(runs, stats_base, worker, now_ms, stats_ttl)
  write_series(series_prefix, series_retention, now_ms, series)
  return out
end

-- The scoring API's decisions (fraudstream serve), already made and made once (the caller keeps one decision
-- key per transaction, set with SET NX before it records): appended to the results stream marked source=api and
-- counted in the run statistics like the worker's results.
-- Each server numbers its calls; the last number applied is kept in one key per server (in the results stream's
-- slot, one hour after its last call), so a retried call whose first attempt was applied (the reply was lost)
-- writes nothing again.
-- KEYS by RK (RecordDecisionsCall.Key): the results stream, the server's marker
--   '{<results stream>}:recorded:<instance>', the review queue.
-- ARGV by RD (RecordDecisionsCall.Argument): server id (worker_id field), namespace, results MAXLEN (0 = none),
--   statistics keys' TTL s, record count R, values per record F, this call's sequence number (increasing per
--   instance), time-series key prefix and retention s (0 = none), statistics key base; from RD.first_record: R
--   records in the layout RV (ResultLayout; latency_microseconds is receipt to answer on the server's clock).
local function record_decisions(keys, args)
  local sequence = tonumber(args[RD.sequence])
  local applied = tonumber(redis.call('GET', keys[RK.instance_marker]) or '0')
  if sequence <= applied then return 0 end
  local r, F = tonumber(args[RD.record_count]), tonumber(args[RD.values_per_record])
  local now = redis.call('TIME')
  local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local c = {worker = args[RD.server_id], results = keys[RK.results_stream], review = keys[RK.review_stream], hold_key = keys[RK.archive_hold],
    maxlen = tonumber(args[RD.results_max_length]),
    ttl = 0, ns = args[RD.namespace], source = 'api', runs = {}, series = {}}
  for i = 0, r - 1 do
    local b = RD.first_record + i * F
    write_result(c, args, b, tonumber(args[b + RV.latency_microseconds]))
  end
  trim_results(c)
  write_run_stats(c.runs, args[RD.stats_base], c.worker, now_ms, args[RD.stats_ttl_seconds])
  write_series(args[RD.time_series_prefix], tonumber(args[RD.time_series_retention_seconds]), now_ms, c.series)
  redis.call('SET', keys[RK.instance_marker], sequence, 'PX', 3600000)
  return r
end

-- Adds a worker's latency histograms (sparse "value:count,…" per stage) to what is stored.
-- KEYS: 1 the worker's latency hash, 2 the worker's hash, 3 the run's worker set.
-- ARGV: 1 worker id, 2 flush token, 3 settings, 4 statistics keys' TTL s, then stage / encoded histogram pairs.
-- A token equal to the last one applied is a retry of that flush and changes nothing.
local function merge_latency(keys, args)
  if redis.call('HGET', keys[2], 'last_flush') == args[2] then return 0 end
  for i = 5, #args - 1, 2 do
    local counts = {}
    local existing = redis.call('HGET', keys[1], args[i]) or ''
    for _, text in ipairs({existing, args[i + 1]}) do
      for value, count in string.gmatch(text, '(%d+):(%d+)') do
        local v = tonumber(value)
        counts[v] = (counts[v] or 0) + tonumber(count)
      end
    end
    local values = {}
    for v in pairs(counts) do values[#values + 1] = v end
    table.sort(values)
    local parts = {}
    for j, v in ipairs(values) do parts[j] = string.format('%d:%d', v, counts[v]) end
    redis.call('HSET', keys[1], args[i], table.concat(parts, ','))
  end
  redis.call('HSET', keys[2], 'last_flush', args[2], 'settings', args[3])
  redis.call('SADD', keys[3], args[1])
  for i = 1, 3 do redis.call('EXPIRE', keys[i], args[4]) end
  return 1
end

redis.register_function('fs_write_batch', write_batch)
redis.register_function('fs_merge_latency', merge_latency)
redis.register_function('fs_record_decisions', record_decisions)
