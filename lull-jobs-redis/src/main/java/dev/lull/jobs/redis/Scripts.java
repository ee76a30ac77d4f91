package dev.lull.jobs.redis;

/**
 * The Lua scripts of {@link RedisJobStore}. Every write about a job is one script, so it is atomic;
 * ARGV[1] is the key prefix and ARGV[2] the consumer group. Times that decide anything (leases,
 * retry times) come from Redis's {@code TIME}; the instances' clocks only give the timestamps shown
 * to users (createdAt, startedAt, finishedAt, runAfter).
 */
final class Scripts {
  private Scripts() {}

  /** Shared functions, prepended to every script. */
  private static final String LIB =
      """
      local P, G = ARGV[1], ARGV[2]
      local function nowms()
        local t = redis.call('TIME')
        return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      end
      local function num(x) return string.format('%.0f', x) end
      local function jobkey(id) return P .. ':job:' .. id end
      local function queue(t) return P .. ':queue:' .. t end
      local function delayed(t) return P .. ':delayed:' .. t end
      local function ensure(q)
        if redis.call('EXISTS', q) == 0 then
          redis.call('XGROUP', 'CREATE', q, G, '0', 'MKSTREAM')
        end
      end
      local function enqueue(k, id, t)
        local q = queue(t)
        ensure(q)
        local e = redis.call('XADD', q, '*', 'id', id)
        redis.call('HSET', k, 'entry', e)
      end
      local function unqueue(k, t)
        local e = redis.call('HGET', k, 'entry')
        if e then
          local q = queue(t)
          if redis.call('EXISTS', q) == 1 then
            redis.call('XACK', q, G, e)
            redis.call('XDEL', q, e)
          end
          redis.call('HDEL', k, 'entry')
        end
      end
      local function finalize(k, id, state, finished)
        redis.call('HSET', k, 'state', state, 'finished', finished)
        redis.call('HDEL', k, 'owner', 'lease_until', 'run_after')
        redis.call('SREM', P .. ':unfinished', id)
        redis.call('ZADD', P .. ':finished', finished, id)
        redis.call('DEL', P .. ':cp:' .. id)
      end
      local function fenced(k, owner, attempt)
        local s = redis.call('HMGET', k, 'state', 'owner', 'attempts')
        return s[1] == 'RUNNING' and s[2] == owner and s[3] == attempt
      end
      local function promote(t, now)
        local d = delayed(t)
        local ids = redis.call('ZRANGEBYSCORE', d, '-inf', now, 'LIMIT', 0, 100)
        for _, id in ipairs(ids) do
          redis.call('ZREM', d, id)
          local k = jobkey(id)
          if redis.call('HGET', k, 'state') == 'QUEUED' then enqueue(k, id, t) end
        end
      end
      """;

  /** ARGV: id, type, maxAttempts, createdMs, inputBytes, parameters[, contentType]. */
  static final String INSERT =
      LIB
          + """
          local id, t = ARGV[3], ARGV[4]
          local k = jobkey(id)
          if redis.call('EXISTS', k) == 1 then
            return redis.error_reply('job ' .. id .. ' exists')
          end
          redis.call('HSET', k, 'id', id, 'type', t, 'state', 'QUEUED', 'attempts', 0,
            'max_attempts', ARGV[5], 'done', 0, 'total', -1, 'created', ARGV[6],
            'input_bytes', ARGV[7], 'parameters', ARGV[8], 'cancel', 0)
          if #ARGV >= 9 then redis.call('HSET', k, 'content_type', ARGV[9]) end
          redis.call('ZADD', P .. ':jobs', 0, id)
          redis.call('SADD', P .. ':unfinished', id)
          redis.call('SADD', P .. ':types', t)
          enqueue(k, id, t)
          return 1
          """;

  /**
   * ARGV: owner, leaseMs, startedMs, types... Moves due retries to their streams, then reads the
   * next entry of each type's stream in turn (skipping entries of jobs no longer queued) and claims
   * its job. Returns the job's hash (HGETALL), or an empty array.
   */
  static final String CLAIM =
      LIB
          + """
          local owner, leaseMs, started = ARGV[3], tonumber(ARGV[4]), ARGV[5]
          local now = nowms()
          for i = 6, #ARGV do
            local t = ARGV[i]
            local q = queue(t)
            promote(t, now)
            if redis.call('EXISTS', q) == 1 then
              while true do
                local r = redis.call('XREADGROUP', 'GROUP', G, owner, 'COUNT', 1, 'STREAMS', q, '>')
                if not r then break end
                local e = r[1][2][1]
                local eid, id = e[1], e[2][2]
                local k = jobkey(id)
                local s = redis.call('HMGET', k, 'state', 'entry')
                if s[1] == 'QUEUED' and s[2] == eid then
                  redis.call('HINCRBY', k, 'attempts', 1)
                  redis.call('HSET', k, 'state', 'RUNNING', 'owner', owner,
                    'lease_until', num(now + leaseMs), 'started', started)
                  redis.call('HDEL', k, 'run_after')
                  return redis.call('HGETALL', k)
                end
                redis.call('XACK', q, G, eid)
                redis.call('XDEL', q, eid)
              end
            end
          end
          return {}
          """;

  /**
   * ARGV: types... Returns 0 if an entry waits in one of the streams, else the milliseconds until
   * the earliest retry of these types (0 if due), else -1.
   */
  static final String NEXT =
      LIB
          + """
          local now = nowms()
          local best = -1
          for i = 3, #ARGV do
            local t = ARGV[i]
            local q = queue(t)
            if redis.call('EXISTS', q) == 1 then
              for _, g in ipairs(redis.call('XINFO', 'GROUPS', q)) do
                local name, last
                for j = 1, #g, 2 do
                  if g[j] == 'name' then name = g[j + 1] end
                  if g[j] == 'last-delivered-id' then last = g[j + 1] end
                end
                if name == G and #redis.call('XRANGE', q, '(' .. last, '+', 'COUNT', 1) > 0 then
                  return 0
                end
              end
            end
            local d = redis.call('ZRANGE', delayed(t), 0, 0, 'WITHSCORES')
            if #d > 0 then
              local w = math.max(0, tonumber(d[2]) - now)
              if best < 0 or w < best then best = w end
            end
          end
          return best
          """;

  /**
   * ARGV: id, owner, attempt, leaseMs, done, total. Returns -1 (lost), 0 (renewed) or 1 (renewed,
   * cancel requested). Also takes the stream entry back to the owner, which resets its idle time,
   * so that {@code XAUTOCLAIM} leaves it alone while the owner lives.
   */
  static final String RENEW =
      LIB
          + """
          local k = jobkey(ARGV[3])
          if not fenced(k, ARGV[4], ARGV[5]) then return -1 end
          redis.call('HSET', k, 'lease_until', num(nowms() + tonumber(ARGV[6])),
            'done', ARGV[7], 'total', ARGV[8])
          local s = redis.call('HMGET', k, 'type', 'entry', 'cancel')
          if s[2] and redis.call('EXISTS', queue(s[1])) == 1 then
            redis.call('XCLAIM', queue(s[1]), G, ARGV[4], 0, s[2], 'JUSTID')
          end
          if s[3] == '1' then return 1 end
          return 0
          """;

  /**
   * ARGV: id, owner, attempt, kind (succeeded|failed|retry|released|cancelled), nowMs, done, total,
   * text (result or error), hasText (1|0), delayMs, runAfterMs. Returns 0 (lease lost), 1 (queued
   * again) or 2 (final).
   */
  static final String FINISH =
      LIB
          + """
          local id = ARGV[3]
          local k = jobkey(id)
          if not fenced(k, ARGV[4], ARGV[5]) then return 0 end
          local s = redis.call('HMGET', k, 'type', 'cancel')
          local t, kind = s[1], ARGV[6]
          if kind == 'released' and s[2] == '1' then kind = 'cancelled' end
          unqueue(k, t)
          redis.call('HSET', k, 'done', ARGV[8], 'total', ARGV[9])
          if kind == 'succeeded' then
            if ARGV[11] == '1' then
              redis.call('HSET', k, 'result', ARGV[10])
            else
              redis.call('HDEL', k, 'result')
            end
            redis.call('HDEL', k, 'error')
            finalize(k, id, 'SUCCEEDED', ARGV[7])
            return 2
          elseif kind == 'failed' then
            redis.call('HSET', k, 'error', ARGV[10])
            finalize(k, id, 'FAILED', ARGV[7])
            return 2
          elseif kind == 'cancelled' then
            finalize(k, id, 'CANCELLED', ARGV[7])
            return 2
          end
          redis.call('HSET', k, 'state', 'QUEUED')
          redis.call('HDEL', k, 'owner', 'lease_until')
          if kind == 'retry' then
            redis.call('HSET', k, 'error', ARGV[10], 'run_after', ARGV[13])
            redis.call('ZADD', delayed(t), num(nowms() + tonumber(ARGV[12])), id)
          else
            redis.call('HINCRBY', k, 'attempts', -1)
            redis.call('HDEL', k, 'run_after')
            enqueue(k, id, t)
          end
          return 1
          """;

  /** ARGV: id, nowMs. Returns 0 (no such job), 1 (flagged or left) or 2 (cancelled now). */
  static final String CANCEL =
      LIB
          + """
          local id = ARGV[3]
          local k = jobkey(id)
          local s = redis.call('HMGET', k, 'state', 'type')
          if not s[1] then return 0 end
          if s[1] == 'QUEUED' then
            unqueue(k, s[2])
            redis.call('ZREM', delayed(s[2]), id)
            redis.call('HSET', k, 'cancel', 1)
            finalize(k, id, 'CANCELLED', ARGV[4])
            return 2
          elseif s[1] == 'RUNNING' then
            redis.call('HSET', k, 'cancel', 1)
          end
          return 1
          """;

  /**
   * ARGV: consumer, minIdleMs, nowMs. For every type's stream, {@code XAUTOCLAIM}s the entries
   * pending longer than minIdle (their consumer stopped renewing); a job whose lease expired (by
   * Redis's clock) has its attempt counted and is queued again, failed (last attempt) or cancelled
   * (cancel requested). Returns {reclaimed, ids of jobs that became final...}.
   */
  static final String RECLAIM =
      LIB
          + """
          local now = nowms()
          local n = 0
          local finals = {}
          for _, t in ipairs(redis.call('SMEMBERS', P .. ':types')) do
            local q = queue(t)
            if redis.call('EXISTS', q) == 1 then
              local r = redis.call('XAUTOCLAIM', q, G, ARGV[3], ARGV[4], '0-0', 'COUNT', 100)
              for _, e in ipairs(r[2]) do
                local eid = e[1]
                local id = (type(e[2]) == 'table') and e[2][2] or nil
                local s = nil
                local k = nil
                if id then
                  k = jobkey(id)
                  s = redis.call('HMGET', k, 'state', 'entry', 'lease_until', 'attempts',
                    'max_attempts', 'cancel')
                end
                if s and s[2] == eid and s[1] == 'RUNNING' then
                  if (tonumber(s[3]) or 0) < now then
                    n = n + 1
                    redis.call('HSET', k, 'error', 'attempt ' .. s[4]
                      .. ' did not finish: the process running it ended or lost its lease')
                    unqueue(k, t)
                    if s[6] == '1' then
                      finalize(k, id, 'CANCELLED', ARGV[5])
                      table.insert(finals, id)
                    elseif tonumber(s[4]) >= tonumber(s[5]) then
                      finalize(k, id, 'FAILED', ARGV[5])
                      table.insert(finals, id)
                    else
                      redis.call('HSET', k, 'state', 'QUEUED')
                      redis.call('HDEL', k, 'owner', 'lease_until', 'run_after')
                      enqueue(k, id, t)
                    end
                  end
                elseif s and s[2] == eid and s[1] == 'QUEUED' then
                  unqueue(k, t)
                  enqueue(k, id, t)
                else
                  redis.call('XACK', q, G, eid)
                  redis.call('XDEL', q, eid)
                end
              end
            end
          end
          table.insert(finals, 1, n)
          return finals
          """;

  /** ARGV: id, owner, attempt, key, value. Returns 0 (lease lost) or 1. */
  static final String CHECKPOINT =
      LIB
          + """
          local k = jobkey(ARGV[3])
          if not fenced(k, ARGV[4], ARGV[5]) then return 0 end
          redis.call('HSET', P .. ':cp:' .. ARGV[3], ARGV[6], ARGV[7])
          return 1
          """;

  /**
   * ARGV: beforeMs, consumerIdleMs. Deletes up to 1000 final jobs that finished before beforeMs,
   * and the group's consumers that hold nothing and were idle longer than consumerIdleMs (stopped
   * instances). Returns the ids of the jobs deleted.
   */
  static final String DELETE_FINISHED =
      LIB
          + """
          local ids = redis.call('ZRANGEBYSCORE', P .. ':finished', '-inf', '(' .. ARGV[3],
            'LIMIT', 0, 1000)
          for _, id in ipairs(ids) do
            redis.call('DEL', jobkey(id), P .. ':cp:' .. id)
            redis.call('ZREM', P .. ':finished', id)
            redis.call('ZREM', P .. ':jobs', id)
            redis.call('SREM', P .. ':unfinished', id)
          end
          local idle = tonumber(ARGV[4])
          for _, t in ipairs(redis.call('SMEMBERS', P .. ':types')) do
            local q = queue(t)
            if redis.call('EXISTS', q) == 1 then
              for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', q, G)) do
                local name, pending, cidle
                for j = 1, #c, 2 do
                  if c[j] == 'name' then name = c[j + 1] end
                  if c[j] == 'pending' then pending = c[j + 1] end
                  if c[j] == 'idle' then cidle = c[j + 1] end
                end
                if pending == 0 and cidle > idle then
                  redis.call('XGROUP', 'DELCONSUMER', q, G, name)
                end
              end
            end
          end
          return ids
          """;
}
