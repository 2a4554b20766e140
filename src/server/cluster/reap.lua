-- reap.lua: the sessions of a dead node leave, heartbeat-timeout after its last beat.
-- A lease names the node doing it; what makes each DELETE exactly-once is that a
-- session leaves only while still present and still the dead node's (a resume
-- elsewhere moved it off the set) — two reapers could not both emit.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: dead node id, heartbeat-timeout (ms), sessions per call.
-- Returns {"alive"}, {"wait", ms}, {"busy"}, {"more", n} or {"done", n}.
local dead, hb, batch = A[1], tonumber(A[2]), tonumber(A[3])
local nk = P .. 'node:' .. dead
if redis.call('EXISTS', nk .. ':alive') == 1 then return { 'alive' } end
local seen = tonumber(redis.call('HGET', nk, 'seen_ms') or 0)
if NOW < seen + hb then return { 'wait', seen + hb - NOW } end
local holder = redis.call('GET', P .. 'reap:' .. dead)
if holder and holder ~= ME then return { 'busy' } end
redis.call('SET', P .. 'reap:' .. dead, ME, 'PX', 10000)

local n = 0
for _, sid in ipairs(redis.call('SRANDMEMBER', nk .. ':sessions', batch)) do
  local s = hash(session_key(sid))
  if s and s.state == 'present' and s.node == dead then
    session_leave(sid, s, 'heartbeat_timeout', math.max(TTL - hb, 1))
    n = n + 1
  else
    redis.call('SREM', nk .. ':sessions', sid)
  end
end
if redis.call('SCARD', nk .. ':sessions') > 0 then return { 'more', n } end

-- Its embedded media node's ingest streams went with it.
local media = redis.call('HGET', nk, 'media_id')
if media and media ~= '' and redis.call('HGET', P .. 'medianode:' .. media, 'node') == dead then
  ingests_lost(media)
  redis.call('DEL', P .. 'medianode:' .. media, P .. 'medianode:' .. media .. ':ingests')
  redis.call('SREM', P .. 'medianodes', media)
end
redis.call('DEL', nk, nk .. ':sessions', P .. 'reap:' .. dead)
redis.call('SREM', P .. 'nodes', dead)
return { 'done', n }
