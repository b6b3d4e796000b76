#!lua name=fraudstream_entities
-- Features fraud teams define (issue 25): one call per entity per transaction folds every feature over that entity.
-- Served from the `fraudstream` library (FunctionLibrary.features appends this file to fraudstream_features.lua), so
-- whatever loads the feature functions loads this one too.
--
-- An entity's state shares its hash tag: KEYS 1 is its events sorted set (transaction id -> event time), KEYS 2 a hash
-- of each event's payload (cmsgpack: a map from value id to the value, for the values whose filter let the event in),
-- KEYS 3 a hash with the first transaction seen ('first', 'first_id'; only for age()). A value is identified by what
-- it reads (field, filter), not by a measure's kind, window or place in a feature set: sum(amount) over 10m and over 1h
-- share one stored value, and another feature set version reads the same events the same way. A measure that counts
-- every event (count() without a filter) stores nothing and costs a ZCOUNT.
--
-- Values are those before this transaction: an event counts when its time is in (ts - window, ts] and it is not this
-- transaction, so a redelivered transaction counts nothing twice and gets the values it got the first time (unless
-- later events arrived meanwhile). An event already recorded gains the measures it lacks (a backfill of a new feature
-- over events a live worker recorded), and an older first sighting replaces a later one.
--
-- ARGV: 1 event time ms, 2 transaction id, 3 retention ms (events older are removed), 4 most events kept,
--       5 key TTL ms, 6 measure count M, then per measure: value id, kind, window ms, included ('1', '0', or 'a' for
--       a measure that counts every event and stores nothing), value ('' for none).
-- Kinds: count, sum, avg, min, max, distinct, age, since_last. Returns one string per measure: the number, or '-1'
-- for age and since_last of an entity never seen before (and for min and max of an empty window: '0').
local function entity_fold(keys, args)
  local ts = tonumber(args[1])
  local id = args[2]
  local retention = tonumber(args[3])
  local cap = tonumber(args[4])
  local ttl = args[5]
  local m = tonumber(args[6])
  local mids, kinds, windows, included, values = {}, {}, {}, {}, {}
  -- The longest window a measure reads event payloads over (0: none does), and whether one reads the first sighting.
  local longest, has_age, stored = 0, false, 0
  for j = 1, m do
    local base = 6 + (j - 1) * 5
    mids[j] = args[base + 1]
    kinds[j] = args[base + 2]
    windows[j] = tonumber(args[base + 3])
    included[j] = args[base + 4]
    values[j] = args[base + 5]
    if kinds[j] == 'age' then has_age = true end
    if included[j] == '1' then stored = stored + 1 end
    if included[j] ~= 'a' and kinds[j] ~= 'age' and kinds[j] ~= 'since_last' and windows[j] > longest then longest = windows[j] end
  end
  -- Where this transaction sits, if it was recorded before (a redelivery, or a backfill over a worker's events).
  local own = redis.call('ZSCORE', keys[1], id)
  if own then own = tonumber(own) end

  -- The events a payload measure may read: (ts - longest, ts], without this transaction.
  local ids, times, payloads = {}, {}, {}
  if longest > 0 then
    local members = redis.call('ZRANGEBYSCORE', keys[1], '(' .. (ts - longest), ts, 'WITHSCORES')
    for i = 1, #members, 2 do
      if members[i] ~= id then
        ids[#ids + 1] = members[i]
        times[#times + 1] = tonumber(members[i + 1])
      end
    end
    if #ids > 0 then
      local packed = redis.call('HMGET', keys[2], unpack(ids))
      for i = 1, #ids do
        if packed[i] then payloads[i] = cmsgpack.unpack(packed[i]) else payloads[i] = {} end
      end
    end
  end

  -- Counts and sums come from suffix sums over the events (ascending by time), one pass per value read, so a measure
  -- costs a binary search for its window's first event, not a pass over the events.
  local suffix = {}
  local function suffix_of(vid)
    local cached = suffix[vid]
    if cached then return cached end
    local counts, sums = {}, {}
    local c, s = 0, 0
    counts[#ids + 1] = 0
    sums[#ids + 1] = 0
    for i = #ids, 1, -1 do
      local v = payloads[i][vid]
      if v ~= nil then
        c = c + 1
        s = s + (tonumber(v) or 0)
      end
      counts[i] = c
      sums[i] = s
    end
    cached = {counts, sums}
    suffix[vid] = cached
    return cached
  end
  -- The first event later than `from` (#ids + 1 when none is).
  local function first_after(from)
    local low, high = 1, #ids + 1
    while low < high do
      local middle = math.floor((low + high) / 2)
      if times[middle] > from then high = middle else low = middle + 1 end
    end
    return low
  end

  local out = {}
  for j = 1, m do
    local kind = kinds[j]
    local from = ts - windows[j]
    if kind == 'age' then
      local first = redis.call('HMGET', keys[3], 'first', 'first_id')
      if not first[1] or first[2] == id or tonumber(first[1]) > ts then out[j] = '-1' else out[j] = tostring(ts - tonumber(first[1])) end
    elseif kind == 'since_last' then
      local latest = nil
      local before = redis.call('ZREVRANGEBYSCORE', keys[1], ts, '-inf', 'WITHSCORES', 'LIMIT', 0, 2)
      for i = 1, #before, 2 do
        if before[i] ~= id and not latest then latest = tonumber(before[i + 1]) end
      end
      if latest then out[j] = tostring(ts - latest) else out[j] = '-1' end
    elseif included[j] == 'a' then
      -- count() of every event: counted by the sorted set itself, whatever the number of events.
      local count = redis.call('ZCOUNT', keys[1], '(' .. from, ts)
      if own and own > from and own <= ts then count = count - 1 end
      out[j] = tostring(count)
    elseif kind == 'count' or kind == 'sum' or kind == 'avg' then
      local totals = suffix_of(mids[j])
      local k = first_after(from)
      local count, sum = totals[1][k], totals[2][k]
      if kind == 'count' then out[j] = tostring(count)
      elseif kind == 'sum' then out[j] = string.format('%.17g', sum)
      elseif count > 0 then out[j] = string.format('%.17g', sum / count)
      else out[j] = '0' end
    else
      local mid = mids[j]
      local low, high = nil, nil
      local seen, distinct = {}, 0
      for i = first_after(from), #ids do
        local v = payloads[i][mid]
        if v ~= nil then
          if kind == 'distinct' then
            if not seen[v] then
              seen[v] = true
              distinct = distinct + 1
            end
          else
            local x = tonumber(v) or 0
            if low == nil or x < low then low = x end
            if high == nil or x > high then high = x end
          end
        end
      end
      if kind == 'min' then out[j] = string.format('%.17g', low or 0)
      elseif kind == 'max' then out[j] = string.format('%.17g', high or 0)
      else out[j] = tostring(distinct) end
    end
  end

  -- Record this transaction once: its time, its payload (the measures that counted it), the first sighting (kept
  -- only for age()).
  local payload = {}
  for j = 1, m do
    if included[j] == '1' then payload[mids[j]] = values[j] end
  end
  if not own then
    redis.call('ZADD', keys[1], ts, id)
    if stored > 0 then redis.call('HSET', keys[2], id, cmsgpack.pack(payload)) end
    if has_age then
      local first = redis.call('HGET', keys[3], 'first')
      if not first or tonumber(first) > ts then redis.call('HSET', keys[3], 'first', ts, 'first_id', id) end
      redis.call('PEXPIRE', keys[3], ttl)
    end
    redis.call('PEXPIRE', keys[1], ttl)
    if stored > 0 then redis.call('PEXPIRE', keys[2], ttl) end
  elseif stored > 0 then
    -- Seen before: it gains the measures it lacks (a backfill over events a worker recorded), and keeps the others.
    local packed = redis.call('HGET', keys[2], id)
    local known = {}
    if packed then known = cmsgpack.unpack(packed) end
    local changed = false
    for mid, value in pairs(payload) do
      if known[mid] == nil then
        known[mid] = value
        changed = true
      end
    end
    if changed then
      redis.call('HSET', keys[2], id, cmsgpack.pack(known))
      redis.call('PEXPIRE', keys[2], ttl)
    end
  end
  -- Bounded: once events past the retention or beyond the cap are there (ZCARD says so without reading them), the
  -- oldest go; also after an event seen before, so a backfill repeated over trimmed history leaves nothing behind.
  local total = redis.call('ZCARD', keys[1])
  if total > cap or redis.call('ZCOUNT', keys[1], '-inf', ts - retention) > 0 then
    local old = redis.call('ZRANGEBYSCORE', keys[1], '-inf', ts - retention)
    local count = total - #old
    if count > cap then
      local extra = redis.call('ZRANGE', keys[1], #old, #old + count - cap - 1)
      for i = 1, #extra do old[#old + 1] = extra[i] end
    end
    if #old > 0 then
      redis.call('ZREM', keys[1], unpack(old))
      redis.call('HDEL', keys[2], unpack(old))
    end
  end
  return out
end

redis.register_function('fs_entity_fold', entity_fold)
