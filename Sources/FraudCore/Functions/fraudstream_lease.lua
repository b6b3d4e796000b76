#!lua name=fraudstream_lease
-- fraudstream_lease: one owner per consumer name, contract version 1.
--
-- Two workers started with the same consumer name would both read as that consumer: each one's start-up
-- recovery takes the other's in-flight entries, so entries are processed twice and their delivery counts
-- climb toward the dead-letter limit. A worker therefore holds a lease on its name: a string key holding a
-- random token per process, with a TTL it renews while it runs, so a crashed worker's lease expires on its
-- own. Renewal and release are compare-and-set on the token, which is why they live here: a GET followed by
-- a separate PEXPIRE or DEL could extend or delete a lease another worker took in between.
--
-- Dead consumers are removed here too, and for a similar reason: XGROUP DELCONSUMER drops the consumer's
-- pending entries, so "nothing pending and no live lease" must hold at the moment of deletion.
--
-- The layouts of KEYS, ARGV and the replies are defined once, in Swift: LeaseClaimCall, LeaseReleaseCall and
-- RemoveIdleConsumersCall (Sources/FraudCore/Functions). The lease key shares the input stream's hash slot.

-- Takes the lease when it is free, or extends it when this token holds it.
-- KEYS: 1 lease key. ARGV: 1 token, 2 TTL ms.
-- Returns {1, ttl} taken (it was free), {2, ttl} extended (it was ours), {0, PTTL} held by another token
-- (PTTL is -1 when that lease has no expiry).
local function lease_claim(keys, args)
  local holder = redis.call('GET', keys[1])
  if holder == args[1] then
    redis.call('PEXPIRE', keys[1], args[2])
    return {2, tonumber(args[2])}
  end
  if not holder then
    redis.call('SET', keys[1], args[1], 'PX', args[2])
    return {1, tonumber(args[2])}
  end
  return {0, redis.call('PTTL', keys[1])}
end

-- Deletes the lease only while this token holds it.
-- KEYS: 1 lease key. ARGV: 1 token. Returns 1 when deleted, 0 when it was free or held by another token.
local function lease_release(keys, args)
  if redis.call('GET', keys[1]) == args[1] then
    redis.call('DEL', keys[1])
    return 1
  end
  return 0
end

-- Removes consumers that are idle, hold nothing pending and have no live lease.
-- KEYS: 1 input stream, then one lease key per candidate.
-- ARGV: 1 group, 2 minimum idle ms, then one consumer name per candidate (in the order of the lease keys).
-- Returns the names removed. Every condition is checked again here, so a consumer that read in the meantime
-- (and now holds entries) or took a lease is kept.
local function remove_idle_consumers(keys, args)
  local group, minidle = args[1], tonumber(args[2])
  local idle = {}
  for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', keys[1], group)) do
    local name, ms
    for i = 1, #consumer - 1, 2 do
      if consumer[i] == 'name' then name = consumer[i + 1] elseif consumer[i] == 'idle' then ms = consumer[i + 1] end
    end
    if name then idle[name] = ms end
  end
  local removed = {}
  for i = 3, #args do
    local name, lease = args[i], keys[i - 1]
    if idle[name] and idle[name] >= minidle and redis.call('EXISTS', lease) == 0
        and #redis.call('XPENDING', keys[1], group, '-', '+', 1, name) == 0 then
      redis.call('XGROUP', 'DELCONSUMER', keys[1], group, name)
      removed[#removed + 1] = name
    end
  end
  return removed
end

redis.register_function('fs_lease_claim', lease_claim)
redis.register_function('fs_lease_release', lease_release)
redis.register_function('fs_remove_idle_consumers', remove_idle_consumers)
