#!lua name=fraudstream_entities
-- Features fraud teams define (issue 25): one call per entity per transaction folds every feature over that entity.
--
-- An entity's state shares its hash tag: KEYS 1 is its events sorted set (transaction id -> event time), KEYS 2 a hash
-- of each event's payload (cmsgpack: per measure, its value, or false when the measure's filter left it out), KEYS 3
-- a hash with the first transaction seen ('first', 'first_id'). Values are those before this transaction: an event
-- counts when its time is in (ts - window, ts] and it is not this transaction, so a redelivered transaction counts
-- nothing twice and gets the values it got the first time (unless later events arrived meanwhile).
--
-- ARGV: 1 event time ms, 2 transaction id, 3 retention ms (events older are removed), 4 most events kept,
--       5 key TTL ms, 6 measure count M, then per measure: kind, window ms, included (1/0), value ('' for none).
-- Kinds: count, sum, avg, min, max, distinct, age, since_last. Returns one string per measure: the number, or '-1'
-- for age and since_last of an entity never seen before (and for min and max of an empty window: '0').
local function fold(keys, args)
  local ts = tonumber(args[1])
  local id = args[2]
  local retention = tonumber(args[3])
  local cap = tonumber(args[4])
  local ttl = args[5]
  local m = tonumber(args[6])
  local kinds, windows, included, values = {}, {}, {}, {}
  local longest = 0
  for j = 1, m do
    local base = 6 + (j - 1) * 4
    kinds[j] = args[base + 1]
    windows[j] = tonumber(args[base + 2])
    included[j] = args[base + 3] == '1'
    values[j] = args[base + 4]
    if windows[j] > longest then longest = windows[j] end
  end

  -- The events that may be in a window: (ts - longest, ts], newest first.
  local members = redis.call('ZRANGEBYSCORE', keys[1], '(' .. (ts - longest), ts, 'WITHSCORES')
  local ids, times = {}, {}
  for i = 1, #members, 2 do
    if members[i] ~= id then
      ids[#ids + 1] = members[i]
      times[#times + 1] = tonumber(members[i + 1])
    end
  end
  local payloads = {}
  if #ids > 0 then
    local packed = redis.call('HMGET', keys[2], unpack(ids))
    for i = 1, #ids do
      if packed[i] then payloads[i] = cmsgpack.unpack(packed[i]) else payloads[i] = {} end
    end
  end

  local out = {}
  for j = 1, m do
    local kind = kinds[j]
    local from = ts - windows[j]
    if kind == 'age' then
      local first = redis.call('HMGET', keys[3], 'first', 'first_id')
      if not first[1] or first[2] == id then out[j] = '-1' else out[j] = tostring(math.max(0, ts - tonumber(first[1]))) end
    elseif kind == 'since_last' then
      local latest = nil
      local before = redis.call('ZREVRANGEBYSCORE', keys[1], ts, '-inf', 'WITHSCORES', 'LIMIT', 0, 2)
      for i = 1, #before, 2 do
        if before[i] ~= id and not latest then latest = tonumber(before[i + 1]) end
      end
      if latest then out[j] = tostring(ts - latest) else out[j] = '-1' end
    else
      local count, sum, low, high = 0, 0, nil, nil
      local seen, distinct = {}, 0
      for i = 1, #ids do
        local v = payloads[i][j]
        if times[i] > from and v ~= nil and v ~= false then
          count = count + 1
          if kind == 'distinct' then
            if not seen[v] then
              seen[v] = true
              distinct = distinct + 1
            end
          else
            local x = tonumber(v) or 0
            sum = sum + x
            if low == nil or x < low then low = x end
            if high == nil or x > high then high = x end
          end
        end
      end
      if kind == 'count' then out[j] = tostring(count)
      elseif kind == 'sum' then out[j] = string.format('%.17g', sum)
      elseif kind == 'avg' then if count > 0 then out[j] = string.format('%.17g', sum / count) else out[j] = '0' end
      elseif kind == 'min' then out[j] = string.format('%.17g', low or 0)
      elseif kind == 'max' then out[j] = string.format('%.17g', high or 0)
      else out[j] = tostring(distinct) end
    end
  end

  -- Record this transaction once: its time, its payload, the entity's first sighting.
  if redis.call('ZADD', keys[1], 'NX', ts, id) == 1 then
    local payload = {}
    for j = 1, m do
      if included[j] then payload[j] = values[j] else payload[j] = false end
    end
    redis.call('HSET', keys[2], id, cmsgpack.pack(payload))
    if redis.call('HSETNX', keys[3], 'first', ts) == 1 then redis.call('HSET', keys[3], 'first_id', id) end
    -- Bounded: events past the retention go, then the oldest beyond the cap.
    local old = redis.call('ZRANGEBYSCORE', keys[1], '-inf', ts - retention)
    local count = redis.call('ZCARD', keys[1]) - #old
    if count > cap then
      local extra = redis.call('ZRANGE', keys[1], #old, #old + count - cap - 1)
      for i = 1, #extra do old[#old + 1] = extra[i] end
    end
    if #old > 0 then
      redis.call('ZREM', keys[1], unpack(old))
      redis.call('HDEL', keys[2], unpack(old))
    end
    for k = 1, 3 do redis.call('PEXPIRE', keys[k], ttl) end
  end
  return out
end

redis.register_function('fs_entity_fold', fold)
