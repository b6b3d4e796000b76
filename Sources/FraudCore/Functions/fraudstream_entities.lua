#!lua name=fraudstream_entities
-- Features fraud teams define (issue 25): one call per entity per transaction folds every feature over that entity.
-- Served from the `fraudstream` library (FunctionLibrary.features appends this file to fraudstream_features.lua), so
-- whatever loads the feature functions loads this one too.
--
-- An entity's state shares its hash tag: KEYS 1 is its events sorted set (transaction id -> event time), KEYS 2 a hash
-- with its first sighting ('first', 'first_id'; written only for age()), KEYS 3.. one hash per value the measures
-- read (event id -> value, for the events whose filter let them in). A value is identified by what it reads (a field
-- and a filter), not by a measure's kind, window or place in a feature set: sum(amount) over 10m and over 1h share one
-- value, and another feature set version reads the same events the same way. A measure that counts every event
-- (count() without a filter) reads no value.
--
-- Values are those before this transaction: an event counts when its time is in (ts - window, ts] and it is not this
-- transaction, so a redelivered transaction counts nothing twice and gets the values it got the first time (unless
-- later events arrived meanwhile). An event already recorded gains the values it lacks (a backfill of a new feature
-- over events a live worker recorded), and an older first sighting replaces a later one.
--
-- ARGV: 1 event time ms, 2 transaction id, 3 retention ms (events older are removed: the longest window and a margin
--       for late transactions), 4 most events kept, 5 key TTL
--       ms, then per value (one per KEYS from 3 on): included ('1' or '0'), the value ('' when not included); then
--       the measures, one text 'kind:window ms:value position;…' (value position 1-based; 0: none).
-- Kinds: count, sum, avg, min, max, distinct, age, since_last. Returns two integers per measure, a and b for the value
-- a * 2^b (exact for every double): counts, distinct counts, ages and gaps with b = 0 (-1 for age and since_last of an
-- entity never seen before), sums, averages, minimums and maximums as their mantissa and exponent (0 for min and max of
-- an empty window).
-- The measures of a call, parsed once per distinct text: every call for one group of a feature set sends the same
-- text ('kind:window:value;…'), so a call costs one argument and one table lookup for them, not three arguments per
-- measure. At most 256 texts are kept (a new feature set version's replace the old ones).
local measure_specs, measure_spec_count = {}, 0
local function parse_measures(text)
  local spec = {m = 0, kinds = {}, windows = {}, reads = {}, longest = 0, reads_values = false, plain_counts = 0, has_age = false}
  for kind, window, read in string.gmatch(text, '([%a_]+):(%d+):(%d+)') do
    local j = spec.m + 1
    spec.m = j
    spec.kinds[j] = kind
    spec.windows[j] = tonumber(window)
    spec.reads[j] = tonumber(read)
    -- The longest window over the events (0: no measure reads one), whether a measure reads values, how many count
    -- every event, and whether one reads the first sighting.
    if kind == 'age' then
      spec.has_age = true
    elseif kind ~= 'since_last' then
      if spec.windows[j] > spec.longest then spec.longest = spec.windows[j] end
      if spec.reads[j] > 0 then spec.reads_values = true else spec.plain_counts = spec.plain_counts + 1 end
    end
  end
  if measure_spec_count >= 256 then
    measure_specs, measure_spec_count = {}, 0
  end
  measure_specs[text] = spec
  measure_spec_count = measure_spec_count + 1
  return spec
end

local function entity_fold(keys, args)
  local ts = tonumber(args[1])
  local id = args[2]
  local retention = tonumber(args[3])
  local cap = tonumber(args[4])
  local ttl = args[5]
  local nvalues = #keys - 2
  local included, values = {}, {}
  for v = 1, nvalues do
    included[v] = args[4 + 2 * v] == '1'
    values[v] = args[5 + 2 * v]
  end
  local spec = measure_specs[args[6 + 2 * nvalues]]
  if not spec then spec = parse_measures(args[6 + 2 * nvalues]) end
  local m, kinds, windows, reads = spec.m, spec.kinds, spec.windows, spec.reads
  local longest, reads_values, plain_counts, has_age = spec.longest, spec.reads_values, spec.plain_counts, spec.has_age

  -- Record this transaction first (once); its own event is then left out of every value below.
  local added = redis.call('ZADD', keys[1], 'NX', ts, id)
  local own = ts
  if added == 0 then own = tonumber(redis.call('ZSCORE', keys[1], id)) end

  -- The events in (ts - longest, ts], ascending, without this one: read when a measure reads values, or when several
  -- count every event and there are few enough (else each counts with ZCOUNT, whatever the number of events).
  local fetch = reads_values
  if not fetch and plain_counts > 2 then
    fetch = redis.call('ZCOUNT', keys[1], '(' .. (ts - longest), ts) <= 256
  end
  local ids, times, fetched = {}, {}, 0
  if fetch and longest > 0 then
    local members = redis.call('ZRANGEBYSCORE', keys[1], '(' .. (ts - longest), ts, 'WITHSCORES')
    fetched = #members / 2
    for i = 1, #members, 2 do
      if members[i] ~= id then
        ids[#ids + 1] = members[i]
        times[#times + 1] = tonumber(members[i + 1])
      end
    end
  end
  local read = {}
  local function value_of(v)
    local cached = read[v]
    if cached then return cached end
    if #ids > 0 then cached = redis.call('HMGET', keys[2 + v], unpack(ids)) else cached = {} end
    read[v] = cached
    return cached
  end
  -- Counts and sums come from suffix sums over the events, one pass per value read, so a measure costs a binary
  -- search for its window's first event, not a pass over the events.
  local suffix = {}
  local function suffix_of(v)
    local cached = suffix[v]
    if cached then return cached end
    local got = value_of(v)
    local counts, sums = {}, {}
    local c, s = 0, 0
    counts[#ids + 1] = 0
    sums[#ids + 1] = 0
    for i = #ids, 1, -1 do
      local x = got[i]
      if x then
        c = c + 1
        s = s + (tonumber(x) or 0)
      end
      counts[i] = c
      sums[i] = s
    end
    cached = {counts, sums}
    suffix[v] = cached
    return cached
  end
  -- The first event later than `from` (#ids + 1 when none is).
  local function first_after(from)
    local low, high = 1, #ids + 1
    while low < high do
      local sum = low + high
      local middle = (sum - sum % 2) / 2
      if times[middle] > from then high = middle else low = middle + 1 end
    end
    return low
  end

  -- Each value is two integers, a and b, for a * 2^b: a number reply carries no fraction, and text would cost a
  -- formatting per value (the dearest thing a script does); this carries every bit.
  local out = {}
  local function whole(j, n)
    out[2 * j - 1] = n
    out[2 * j] = 0
  end
  local function exact(j, x)
    local mantissa, exponent = math.frexp(x)
    out[2 * j - 1] = mantissa * 9007199254740992
    out[2 * j] = exponent - 53
  end
  for j = 1, m do
    local kind = kinds[j]
    local from = ts - windows[j]
    if kind == 'age' then
      local first = redis.call('HMGET', keys[2], 'first', 'first_id')
      if not first[1] or first[2] == id or tonumber(first[1]) > ts then whole(j, -1) else whole(j, ts - tonumber(first[1])) end
    elseif kind == 'since_last' then
      local latest = nil
      local before = redis.call('ZREVRANGEBYSCORE', keys[1], ts, '-inf', 'WITHSCORES', 'LIMIT', 0, 2)
      for i = 1, #before, 2 do
        if before[i] ~= id and not latest then latest = tonumber(before[i + 1]) end
      end
      if latest then whole(j, ts - latest) else whole(j, -1) end
    elseif reads[j] == 0 then
      -- count() of every event: from the events read, or counted by the sorted set itself.
      if fetch then
        whole(j, #ids - first_after(from) + 1)
      else
        local count = redis.call('ZCOUNT', keys[1], '(' .. from, ts)
        if own > from and own <= ts then count = count - 1 end
        whole(j, count)
      end
    elseif kind == 'count' or kind == 'sum' or kind == 'avg' then
      local totals = suffix_of(reads[j])
      local k = first_after(from)
      local count, sum = totals[1][k], totals[2][k]
      if kind == 'count' then whole(j, count)
      elseif kind == 'sum' then exact(j, sum)
      elseif count > 0 then exact(j, sum / count)
      else whole(j, 0) end
    else
      local got = value_of(reads[j])
      local low, high = nil, nil
      local seen, distinct = {}, 0
      for i = first_after(from), #ids do
        local x = got[i]
        if x then
          if kind == 'distinct' then
            if not seen[x] then
              seen[x] = true
              distinct = distinct + 1
            end
          else
            x = tonumber(x) or 0
            if low == nil or x < low then low = x end
            if high == nil or x > high then high = x end
          end
        end
      end
      if kind == 'min' then exact(j, low or 0)
      elseif kind == 'max' then exact(j, high or 0)
      else whole(j, distinct) end
    end
  end

  -- This transaction's values; an event seen before gains those it lacks (a backfill over a worker's events).
  for v = 1, nvalues do
    if included[v] then
      if added == 1 then
        redis.call('HSET', keys[2 + v], id, values[v])
        redis.call('PEXPIRE', keys[2 + v], ttl)
      elseif redis.call('HSETNX', keys[2 + v], id, values[v]) == 1 then
        redis.call('PEXPIRE', keys[2 + v], ttl)
      end
    end
  end
  if has_age then
    local first = redis.call('HGET', keys[2], 'first')
    if not first or tonumber(first) > own then redis.call('HSET', keys[2], 'first', own, 'first_id', id) end
    if added == 1 then redis.call('PEXPIRE', keys[2], ttl) end
  end
  if added == 1 then redis.call('PEXPIRE', keys[1], ttl) end
  -- Bounded: once events past the retention (some lie outside the window just read) or beyond the cap are there, the
  -- oldest go, from the events and from every value; also after an event seen before, so a backfill repeated over
  -- trimmed history leaves nothing behind.
  do
    local total = redis.call('ZCARD', keys[1])
    local outside = total > cap or (fetch and longest >= retention and total > fetched) or (not (fetch and longest >= retention) and total % 8 == 0)
    if outside then
      local old = redis.call('ZRANGEBYSCORE', keys[1], '-inf', ts - retention)
      local count = total - #old
      if count > cap then
        local extra = redis.call('ZRANGE', keys[1], #old, #old + count - cap - 1)
        for i = 1, #extra do old[#old + 1] = extra[i] end
      end
      if #old > 0 then
        redis.call('ZREM', keys[1], unpack(old))
        for v = 1, nvalues do redis.call('HDEL', keys[2 + v], unpack(old)) end
      end
    end
  end
  return out
end

redis.register_function('fs_entity_fold', entity_fold)
