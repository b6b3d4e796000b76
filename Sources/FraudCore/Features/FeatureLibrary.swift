/// The Redis Functions library behind the dynamic features (`FUNCTION LOAD REPLACE`).
///
/// Each function reads the state a feature needs *before* the transaction and then folds the
/// transaction in, atomically, so training replay and serving see exactly the same values.
public enum FeatureLibrary {
    /// Library name as Redis knows it.
    public static let name = "fraudstream"
    /// Bumped whenever the functions' contract changes; stored in the source's header comment.
    public static let version = 1

    /// The Lua source.
    public static let source = """
        #!lua name=fraudstream
        -- fraudstream feature functions, contract version \(version)

        -- Per-user features. All keys share the user's hash tag.
        -- KEYS: 1 profile, 2 window zset, 3 stats hash, 4 device set, 5 count-min sketch, 6 feature cache,
        --       7..N HyperLogLog buckets of merchants, oldest first, the last one is the current bucket.
        -- ARGV: 1 event time ms, 2 transaction id, 3 amount, 4 merchant id, 5 device id or '', 6 lat or '',
        --       7 lon or '', 8 cache ttl ms (0 = no cache), 9 hll bucket ttl ms, 10 window ttl ms, 11.. count-min offsets (#N)
        local function user_features(keys, args)
          local cache_ttl = tonumber(args[8])
          if cache_ttl > 0 then
            local cached = redis.call('GET', keys[6])
            if cached then return cjson.decode(cached) end
          end
          local ts = tonumber(args[1])
          local txid = args[2]
          local amount = tonumber(args[3])
          local out = {}
          local profile = redis.call('HMGET', keys[1], 'home_lat', 'home_lon', 'preferred_card', 'segment', 'risk_score', 'account_created')
          for i = 1, 6 do out[i] = profile[i] or '' end

          -- Exact sliding windows over event time: (ts - w, ts]. Trim to 24 h so memory stays bounded.
          redis.call('ZREMRANGEBYSCORE', keys[2], '-inf', string.format('%d', ts - 86400000))
          out[7] = tostring(redis.call('ZCOUNT', keys[2], '(' .. string.format('%d', ts - 60000), args[1]))
          out[8] = tostring(redis.call('ZCOUNT', keys[2], '(' .. string.format('%d', ts - 3600000), args[1]))
          out[9] = tostring(redis.call('ZCOUNT', keys[2], '(' .. string.format('%d', ts - 86400000), args[1]))
          redis.call('ZADD', keys[2], ts, txid)
          redis.call('PEXPIRE', keys[2], args[10])

          -- Running mean and variance of the amount (Welford), previous transaction time and place.
          local st = redis.call('HMGET', keys[3], 'n', 'mean', 'm2', 'last_ts', 'loc_ts', 'last_lat', 'last_lon')
          local n = tonumber(st[1]) or 0
          local mean = tonumber(st[2]) or 0
          local m2 = tonumber(st[3]) or 0
          out[10] = tostring(n)
          out[11] = string.format('%.17g', mean)
          out[12] = string.format('%.17g', m2)
          out[13] = st[4] or ''
          out[14] = st[5] or ''
          out[15] = st[6] or ''
          out[16] = st[7] or ''
          local n1 = n + 1
          local delta = amount - mean
          local mean1 = mean + delta / n1
          local m21 = m2 + delta * (amount - mean1)
          if args[6] ~= '' and args[7] ~= '' then
            redis.call('HSET', keys[3], 'n', n1, 'mean', string.format('%.17g', mean1), 'm2', string.format('%.17g', m21),
              'last_ts', args[1], 'loc_ts', args[1], 'last_lat', args[6], 'last_lon', args[7])
          else
            redis.call('HSET', keys[3], 'n', n1, 'mean', string.format('%.17g', mean1), 'm2', string.format('%.17g', m21),
              'last_ts', args[1])
          end

          -- Distinct merchants in the last hour: HyperLogLogs in 10-minute buckets, merged by PFCOUNT.
          local hll_keys = {}
          for i = 7, #keys do hll_keys[#hll_keys + 1] = keys[i] end
          out[17] = tostring(redis.call('PFCOUNT', unpack(hll_keys)))
          local current = keys[#keys]
          redis.call('PFADD', current, args[4])
          redis.call('PEXPIRE', current, args[9])

          -- Device seen before for this user: SADD answers 1 for a new member.
          if args[5] ~= '' then
            out[18] = tostring(redis.call('SADD', keys[4], args[5]))
          else
            out[18] = '0'
          end

          -- How often this (user, merchant) pair occurred: count-min sketch in 16-bit saturating counters.
          local bitfield = {'OVERFLOW', 'SAT'}
          for i = 11, #args do
            bitfield[#bitfield + 1] = 'INCRBY'
            bitfield[#bitfield + 1] = 'u16'
            bitfield[#bitfield + 1] = args[i]
            bitfield[#bitfield + 1] = 1
          end
          local counts = redis.call('BITFIELD', keys[5], unpack(bitfield))
          local minimum = counts[1]
          for i = 2, #counts do if counts[i] < minimum then minimum = counts[i] end end
          out[19] = tostring(minimum - 1)

          -- Redelivery of the same transaction answers the same features and folds nothing in twice.
          if cache_ttl > 0 then
            redis.call('SET', keys[6], cjson.encode(out), 'PX', cache_ttl)
          end
          return out
        end

        -- Events of one device in the click-spam window, before this one. Idempotent per transaction id.
        -- KEYS: 1 device zset. ARGV: 1 event time ms, 2 transaction id, 3 window ms, 4 retention ms.
        local function device_events(keys, args)
          local ts = tonumber(args[1])
          local window = tonumber(args[3])
          local retention = tonumber(args[4])
          local existed = redis.call('ZSCORE', keys[1], args[2])
          redis.call('ZREMRANGEBYSCORE', keys[1], '-inf', string.format('%d', ts - retention))
          local count = redis.call('ZCOUNT', keys[1], '(' .. string.format('%d', ts - window), args[1])
          if existed then
            count = count - 1
          else
            redis.call('ZADD', keys[1], ts, args[2])
          end
          redis.call('PEXPIRE', keys[1], retention * 2)
          return count
        end

        -- Bloom filter membership for a batch. KEYS: 1 bitmap. ARGV: 1 hashes per item k, then k bit offsets per item.
        local function bloom_check(keys, args)
          local k = tonumber(args[1])
          local out = {}
          local i = 2
          while i <= #args do
            local hit = 1
            for j = 0, k - 1 do
              if redis.call('GETBIT', keys[1], args[i + j]) == 0 then hit = 0 break end
            end
            out[#out + 1] = hit
            i = i + k
          end
          return out
        end

        -- Adds items to a Bloom filter. KEYS: 1 bitmap. ARGV: bit offsets.
        local function bloom_add(keys, args)
          for i = 1, #args do redis.call('SETBIT', keys[1], args[i], 1) end
          return #args
        end

        redis.register_function('fs_user_features', user_features)
        redis.register_function('fs_device_events', device_events)
        redis.register_function{function_name = 'fs_bloom_check', callback = bloom_check, flags = {'no-writes'}}
        redis.register_function('fs_bloom_add', bloom_add)
        """
}
