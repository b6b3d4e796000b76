#!lua name=fraudstream
-- fraudstream: the feature functions, contract version 7 (7: the blocklist keeps an exact record of its members
-- beside the filter, <ns>:blocklist:ip:counters members hash, and counts each listed IP once; 6: a user's running state is one packed field,
-- `state`; 5: the IP blocklist is a counting Bloom filter of 4-bit counters at <ns>:blocklist:ip:counters,
-- and fs_bloom_remove deletes from it).
--
-- This library owns the state the dynamic features are computed from: per user, the running fields of the
-- profile hash, the 24 h window set, the recent-device set, the merchant count-min sketch and the merchant
-- HyperLogLog slots; per device, its event set; and the IP blocklist's counting Bloom filter.
-- Each function reads the state a feature needs *before* the transaction and then folds the transaction in,
-- atomically, so training replay and serving see exactly the same values.
-- Every key it creates has a bound: a TTL after the owner's last transaction, and a cap on its size.
--
-- The layouts of KEYS, ARGV and the replies are defined once, in Swift: UserFeaturesCall, DeviceEventsCall,
-- BloomCheckCall, BloomAddCall, BloomRemoveCall and BloomUnlistCall (Sources/FraudCore/Functions). The comments here follow them, and
-- FunctionContractTests checks both sides against a real server.

-- Per-user features. All keys share the user's hash tag.
-- KEYS: 1 profile hash (static profile fields plus the running state below), 2 window zset,
--       3 recent-device zset (device -> latest event time), 4 count-min sketch, 5.. merchant HyperLogLog slots,
--       one per bucket of event time (slot = bucket % number of slots; the caller chooses the bucket length and
--       the number of slots)
-- ARGV: 1 event time ms, 2 transaction id, 3 amount, 4 merchant id, 5 device id or '', 6 lat or '', 7 lon or '',
--       8 merchant bucket (event time / bucket length), 9 '(ts-1m', 10 '(ts-1h', 11 '(ts-24h', 12 'ts-25h' (trim bound),
--       13 device trim stop '-(cap+1)', 14 refresh mark of a known user, 15 refresh mark of an unknown user,
--       16 known user's state TTL ms, 17 unknown user's TTL ms, 18.. count-min offsets (#N)
--       (bounds and marks come precomputed: number formatting is the dearest thing a script does)
-- Returns: profile x6 (nil if absent), count 1m, 1h, 24h, the packed running state before the transaction
--          (nil if none; layout at state_format below), distinct merchants, new device (0/1), pair count,
--          fresh (0/1)
-- A transaction already in the window set is a redelivery: its features are read, nothing is folded in again.
--
-- Expiry. A user is known when the profile hash holds static profile fields (home_lat, preferred_card or
-- segment). A known user's dynamic keys (2..) expire ARGV[16] ms after the last refresh; its profile hash never
-- does (a refresh PERSISTs it, in case it was written over an unknown user's state). An unknown user's keys,
-- the profile hash with its running state included, expire ARGV[17] ms after the last refresh.
-- Refreshing costs a PEXPIRE per key, so it is not done per transaction: the caller passes a mark that
-- changes once per refresh period (wall clock / period, period a fraction of the shorter TTL; 'k' or 'u'
-- appended), and a fresh transaction refreshes only when the mark stored in the profile hash differs. This is
-- safe because (a) an active user's keys are refreshed at least once per period, so they outlive the last
-- transaction by at least TTL - period; (b) a key can only be missing and re-created here if it expired (which
-- takes a TTL, longer than a period, so the mark has changed and this call refreshes, after all its writes),
-- if the user is new or replayed from scratch (no mark: refresh), or if it is created between refreshes by
-- design: a newly added device grows the device set, and a merchant slot is re-created when its bucket
-- is entered; those two get their PEXPIRE when they are created.
-- The BITFIELD argument list, reused by every call (filled from the start, passed with its length): one table
-- less to allocate and collect per transaction.
local bitfield_args = {}

-- The running state is one binary field of the profile hash, `state`, packed little-endian (struct.pack
-- '<I4ddddddI4B', 57 bytes): n (uint32), mean, m2 (Welford), last_ts, loc_ts, last_lat, last_lon (float64, NaN
-- where absent: no located transaction yet), hll_bucket (uint32), hll_mask (uint8). Binary doubles round-trip
-- exactly with no number formatting or parsing, and one field is one HMGET value and one HSET pair instead of
-- nine (contract version 6; see legacy_state). It stays under hash-max-listpack-value (64 bytes), so the profile
-- hash keeps its compact listpack encoding.
local state_format = '<I4ddddddI4B'
local nan = 0 / 0
local legacy_fields = {'n', 'mean', 'm2', 'last_ts', 'loc_ts', 'last_lat', 'last_lon', 'hll_bucket', 'hll_mask'}

-- The running state a profile hash of contract version 5 or earlier keeps in separate text fields, packed;
-- nil when it has none. Read only when `state` is absent (a user's first transaction, or the first after an
-- upgrade), and the old fields are deleted once the packed state is written.
local function legacy_state(key)
  local old = redis.call('HMGET', key, unpack(legacy_fields))
  if not old[1] then return nil end
  local values = {}
  for i = 1, 9 do values[i] = tonumber(old[i]) or nan end
  values[1], values[8] = values[1] == values[1] and values[1] or 0, tonumber(old[8]) or 0
  -- Slots written before hll_mask existed: count all of them.
  values[9] = tonumber(old[9]) or 63
  return struct.pack(state_format, unpack(values)), true
end

local function user_features(keys, args)
  local slots = #keys - 4
  local fresh = redis.call('ZADD', keys[2], 'NX', args[1], args[2]) == 1
  local st = redis.call('HMGET', keys[1], 'home_lat', 'home_lon', 'preferred_card', 'segment', 'risk_score',
    'account_created', 'state', 'ttl_mark')
  local state, legacy = st[7], false
  if not state then state, legacy = legacy_state(keys[1]) end
  -- Exact sliding windows over event time, (ts - w, ts], minus this transaction itself. The windows nest, so a
  -- wider one that is empty answers for the narrower ones (a user's last minute is usually empty).
  local day = redis.call('ZCOUNT', keys[2], args[11], args[1]) - 1
  local hour, minute = 0, 0
  if day > 0 then hour = redis.call('ZCOUNT', keys[2], args[10], args[1]) - 1 end
  if hour > 0 then minute = redis.call('ZCOUNT', keys[2], args[9], args[1]) - 1 end
  -- The state before this transaction goes back as it is stored: the caller unpacks it.
  local out = {st[1], st[2], st[3], st[4], st[5], st[6], minute, hour, day, state or false}

  local n, mean, m2, last_ts, loc_ts, last_lat, last_lon, last_bucket, mask = 0, 0, 0, nan, nan, nan, nan, nil, 0
  if state then n, mean, m2, last_ts, loc_ts, last_lat, last_lon, last_bucket, mask = struct.unpack(state_format, state) end
  local bucket = tonumber(args[8])
  -- Which merchant slots hold merchants (bit i = slot i): PFCOUNT then reads only those. A PFCOUNT of several
  -- keys merges them into a dense register array first (a fixed ~2 µs); of one key it counts the sparse HLL.
  -- Same registers, same estimate.
  -- Expiry (see the head of the file): which TTL, from which key on, and whether this call refreshes.
  local known = st[1] or st[3] or st[4]
  local mark, ttl, first_expiring = args[15], args[17], 1
  if known then mark, ttl, first_expiring = args[14], args[16], 2 end
  local refresh = fresh and st[8] ~= mark
  local counted_mask = mask
  if fresh then
    -- Running mean and variance of the amount (Welford), previous transaction time and place.
    local amount = tonumber(args[3])
    local n1 = n + 1
    local delta = amount - mean
    local mean1 = mean + delta / n1
    local m21 = m2 + delta * (amount - mean1)
    local newest = bucket
    if last_bucket and bucket <= last_bucket then newest = last_bucket end
    -- Entering a new bucket empties the slots whose buckets have left the window (6 slots: an hour). Only slots the
    -- mask says hold merchants are deleted: the others hold nothing (a slot's bit is set by the PFADD that fills it and
    -- cleared here with its DEL), and deleting absent keys cost a DEL of up to 6 keys on most transactions. Without a
    -- running state (a user's first transaction, or an unknown user whose profile hash expired before a slot it had
    -- made later), every slot goes once, so no slot outlives the mask that accounts for it.
    local stale = nil
    if not state then
      stale = {}
      for i = 0, slots - 1 do stale[#stale + 1] = keys[5 + i] end
    elseif last_bucket and bucket > last_bucket then
      local from = last_bucket + 1
      if bucket - last_bucket >= slots then from = bucket - slots + 1 end
      for b = from, bucket do
        local slot_bit = bit.lshift(1, b % slots)
        if bit.band(mask, slot_bit) ~= 0 then
          stale = stale or {}
          stale[#stale + 1] = keys[5 + b % slots]
          mask = bit.band(mask, bit.bnot(slot_bit))
        end
      end
    end
    counted_mask = mask
    local stored_mask = bit.bor(mask, bit.lshift(1, bucket % slots))
    local ts = tonumber(args[1])
    if args[6] ~= '' then loc_ts, last_lat, last_lon = ts, tonumber(args[6]), tonumber(args[7]) end
    redis.call('HSET', keys[1], 'state',
      struct.pack(state_format, n1, mean1, m21, ts, loc_ts, last_lat, last_lon, newest, stored_mask))
    if legacy then redis.call('HDEL', keys[1], unpack(legacy_fields)) end
    -- Keep the window set to 25 h (24 h and an hour for late transactions); every 8th transaction is enough to bound it.
    if n1 % 8 == 0 then
      redis.call('ZREMRANGEBYSCORE', keys[2], '-inf', args[12])
    end
    if stale then redis.call('DEL', unpack(stale)) end
  end

  -- Distinct merchants over the slots that hold any (6 ten-minute slots: the last 50–60 min), HyperLogLogs
  -- merged by PFCOUNT; a redelivery counts what is stored, its own merchant included, as before.
  local counted = {}
  for i = 0, slots - 1 do
    if bit.band(counted_mask, bit.lshift(1, i)) ~= 0 then counted[#counted + 1] = keys[5 + i] end
  end
  if #counted > 0 then out[11] = redis.call('PFCOUNT', unpack(counted)) else out[11] = 0 end

  local bitfield, nb = bitfield_args, 0
  if fresh then
    local slot = keys[5 + bucket % slots]
    redis.call('PFADD', slot, args[4])
    -- A slot outside the newest bucket may have been emptied (or never written): this PFADD may create it.
    if bucket ~= last_bucket and not refresh then redis.call('PEXPIRE', slot, ttl) end
    -- Device seen before for this user: ZADD answers 1 for a new member (GT: a late event never lowers a
    -- device's time). Only a new device grows the set, so only then is it trimmed to the most recent ones.
    if args[5] ~= '' then
      out[12] = redis.call('ZADD', keys[3], 'GT', args[1], args[5])
      if out[12] == 1 then
        redis.call('ZREMRANGEBYRANK', keys[3], '0', args[13])
        if not refresh then redis.call('PEXPIRE', keys[3], ttl) end
      end
    else
      out[12] = 0
    end
    -- How often this (user, merchant) pair occurred: count-min sketch in 16-bit saturating counters.
    bitfield[1], bitfield[2], nb = 'OVERFLOW', 'SAT', 2
    for i = 18, #args do
      bitfield[nb + 1], bitfield[nb + 2], bitfield[nb + 3], bitfield[nb + 4] = 'INCRBY', 'u16', args[i], '1'
      nb = nb + 4
    end
  else
    out[12] = 0
    for i = 18, #args do
      bitfield[nb + 1], bitfield[nb + 2], bitfield[nb + 3] = 'GET', 'u16', args[i]
      nb = nb + 3
    end
  end
  local counts = redis.call('BITFIELD', keys[4], unpack(bitfield, 1, nb))
  local minimum = counts[1]
  for i = 2, #counts do if counts[i] < minimum then minimum = counts[i] end end
  if fresh then minimum = minimum - 1 end
  out[13] = minimum
  out[14] = fresh and 1 or 0

  -- After every write above, so keys this call created get their TTL too.
  if refresh then
    redis.call('HSET', keys[1], 'ttl_mark', mark)
    if known then redis.call('PERSIST', keys[1]) end
    for i = first_expiring, #keys do redis.call('PEXPIRE', keys[i], ttl) end
  end
  return out
end

-- Events of one device in the click-spam window, before this one. Idempotent per transaction id.
-- KEYS: 1 device zset. ARGV: 1 event time ms, 2 transaction id, 3 '(ts-window', 4 'ts-retention', 5 key TTL ms.
-- Events older than the retention are trimmed only once more than 16 of them may have gathered (ZCARD is O(1),
-- the trim is not): the window's count never sees them, and the set stays within the window plus 16.
local function device_events(keys, args)
  local added = redis.call('ZADD', keys[1], 'NX', args[1], args[2])
  local count = redis.call('ZCOUNT', keys[1], args[3], args[1]) - 1
  if redis.call('ZCARD', keys[1]) > count + 17 then redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', args[4]) end
  if added == 1 then redis.call('PEXPIRE', keys[1], args[5]) end
  return count
end

-- The IP blocklist: a counting Bloom filter, one string of 4-bit counters read and updated with BITFIELD u4.
-- Counter offsets come from the caller as '#<index>' (BITFIELD multiplies by the type's width). A counter at
-- 15 is saturated: it stays 15 and is never decremented, so overflow can only keep an item, never drop one.
local saturated = 15
-- Counters per BITFIELD call: each takes three arguments, and unpack() stops at about 8,000 values.
local counters_per_call = 2000

-- The counters at `offsets`, in order, read with BITFIELD_RO (allowed in no-writes functions) in chunks.
local function read_counters(key, offsets)
  local counts = {}
  local first = 1
  while first <= #offsets do
    local last = math.min(#offsets, first + counters_per_call - 1)
    local get = {}
    for i = first, last do
      get[#get + 1] = 'GET'
      get[#get + 1] = 'u4'
      get[#get + 1] = offsets[i]
    end
    local values = redis.call('BITFIELD_RO', key, unpack(get))
    for i = 1, #values do counts[#counts + 1] = values[i] end
    first = last + 1
  end
  return counts
end

-- Membership for a batch: an item is a member when all its k counters are above zero.
-- Read in rounds, one BITFIELD_RO per hash: round j reads the j-th counter of the items not yet ruled out, so
-- an item drops out at its first zero counter and most non-members cost one counter read. Measured with 256
-- items, k = 10, a half-full filter: 240 us per call when none is a member, 890 us when all are; reading every
-- counter in one BITFIELD_RO took 850 us either way, one BITFIELD_RO per counter 300 us and 1,200 us.
-- KEYS: 1 counters. ARGV: 1 hashes per item k, then k counter offsets '#<index>' per item.
-- Returns: one 0/1 per item.
local function bloom_check(keys, args)
  local k = tonumber(args[1])
  local items = (#args - 1) / k
  local candidates = {}
  for item = 1, items do candidates[item] = item end
  for j = 1, k do
    if #candidates == 0 then break end
    local offsets = {}
    for c = 1, #candidates do offsets[c] = args[1 + (candidates[c] - 1) * k + j] end
    local counts = read_counters(keys[1], offsets)
    local remaining = {}
    for c = 1, #candidates do
      if counts[c] > 0 then remaining[#remaining + 1] = candidates[c] end
    end
    candidates = remaining
  end
  local out = {}
  for item = 1, items do out[item] = 0 end
  for c = 1, #candidates do out[candidates[c]] = 1 end
  return out
end

-- The exact record of who listed what, beside the filter: a hash item -> sources, a bit each (1 an operator's
-- `blocklist add` or PUT, 2 the loaded world). The filter counts each listed item once, whatever its sources, so
-- adding a listed item again changes nothing, and a removal answers what the record held, never what the counters
-- suggest (a saturated or colliding counter cannot turn into a false "removed").
local function increment_counters(key, offsets, first, delta)
  local ops = {'OVERFLOW', 'SAT'}
  for i = first, #offsets do
    ops[#ops + 1] = 'INCRBY'
    ops[#ops + 1] = 'u4'
    ops[#ops + 1] = offsets[i]
    ops[#ops + 1] = delta
  end
  redis.call('BITFIELD', key, unpack(ops))
end

-- Lists one item for a source. KEYS: 1 counters, 2 members. ARGV: 1 source bit, 2 item, then its k counter offsets.
-- Returns: 1 when the item was not listed before (its counters were incremented), else 0 (at most its source bit
-- was recorded).
local function bloom_add(keys, args)
  local source = tonumber(args[1])
  local before = tonumber(redis.call('HGET', keys[2], args[2]) or '0')
  local after = bit.bor(before, source)
  if after ~= before then redis.call('HSET', keys[2], args[2], after) end
  if before ~= 0 then return 0 end
  increment_counters(keys[1], args, 3, '1')
  return 1
end

-- Unlists one item for the sources in a mask (3: every source): counters and members keys, the mask, the item and its
-- k counter offsets. Decrements its counters below 15 when no source lists it any more.
-- Returns: 1 when the item is no longer listed because of this call, else 0 (not listed, or still listed by
-- another source).
local function unlist(counters, members, mask, item, offsets)
  local before = tonumber(redis.call('HGET', members, item) or '0')
  local after = bit.band(before, bit.bnot(mask))
  if after == before then return 0 end
  if after ~= 0 then
    redis.call('HSET', members, item, after)
    return 0
  end
  redis.call('HDEL', members, item)
  local counts = read_counters(counters, offsets)
  local decr = {'OVERFLOW', 'SAT'}
  for i = 1, #counts do
    if counts[i] > 0 and counts[i] < saturated then
      decr[#decr + 1] = 'INCRBY'
      decr[#decr + 1] = 'u4'
      decr[#decr + 1] = offsets[i]
      decr[#decr + 1] = '-1'
    end
  end
  if #decr > 2 then redis.call('BITFIELD', counters, unpack(decr)) end
  return 1
end

-- KEYS: 1 counters, 2 members. ARGV: 1 source mask, 2 item, then its k counter offsets. Returns: as unlist.
local function bloom_remove(keys, args)
  local offsets = {}
  for i = 3, #args do offsets[#offsets + 1] = args[i] end
  return unlist(keys[1], keys[2], tonumber(args[1]), args[2], offsets)
end

-- Unlists several items and records the ones it removed in one audit entry, in the same call: what the audit log says
-- was removed is exactly what was (BloomUnlistCall).
-- KEYS: 1 counters, 2 members, 3 audit stream (same slot). ARGV: 1 source mask, 2 k, 3 audit MINID, 4 actor,
-- 5 action, 6 change, 7 request id, 8 time ms, 9 time us, 10.. each item followed by its k counter offsets.
-- Returns: per item, 1 when this call removed it, else 0. The entry's target names every removed item when there are
-- at most 10, else the first 10 and the count; no entry when nothing was removed.
local function bloom_unlist(keys, args)
  local mask, k = tonumber(args[1]), tonumber(args[2])
  local removed, names = {}, {}
  local i = 10
  while i <= #args do
    local offsets = {}
    for j = 1, k do offsets[j] = args[i + j] end
    local done = unlist(keys[1], keys[2], mask, args[i], offsets)
    removed[#removed + 1] = done
    if done == 1 then names[#names + 1] = args[i] end
    i = i + 1 + k
  end
  if #names > 0 then
    local target = table.concat(names, ',', 1, math.min(#names, 10))
    if #names > 10 then target = target .. ',\226\128\166 (' .. #names .. ' IPs)' end
    redis.call('XADD', keys[3], 'MINID', '~', args[3], '*', 'actor', args[4], 'action', args[5], 'target', target,
      'change', args[6], 'request_id', args[7], 'time_ms', args[8], 'time_us', args[9])
  end
  return removed
end

redis.register_function('fs_user_features', user_features)
redis.register_function('fs_device_events', device_events)
redis.register_function{function_name = 'fs_bloom_check', callback = bloom_check, flags = {'no-writes'}}
redis.register_function('fs_bloom_add', bloom_add)
redis.register_function('fs_bloom_remove', bloom_remove)
redis.register_function('fs_bloom_unlist', bloom_unlist)
