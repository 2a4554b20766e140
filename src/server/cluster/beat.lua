-- beat.lua: this node's beat — its registration and liveness, its embedded media
-- node's — and what it sees of the others.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: public ws URL, media node id or "", media URL, media load, node-timeout (ms),
-- "1" on this process's first beat.
-- Returns {existed (1/0: was this node registered before this beat), then for each
-- node: id, ws url, alive (1/0), media id, media url}.
local ws_url, media_id, media_url, load, timeout, first = A[1], A[2], A[3], A[4], tonumber(A[5]), A[6]
local nk = P .. 'node:' .. ME
local existed = redis.call('EXISTS', nk)
if existed == 1 and first == '1' then
  -- A restart under the same id: the sessions of the previous process are nobody's.
  -- They move to a ghost node, dead since that process's last beat, which the
  -- reaper of every node removes after the heartbeat timeout unless they resume.
  local ghost = ME .. '~' .. (redis.call('HGET', nk, 'started_ms') or '0')
  local gk = P .. 'node:' .. ghost
  redis.call('HSET', gk, 'ws_url', '', 'media_id', '', 'media_url', '',
             'seen_ms', redis.call('HGET', nk, 'seen_ms') or NOW)
  for _, sid in ipairs(redis.call('SMEMBERS', nk .. ':sessions')) do
    redis.call('HSET', session_key(sid), 'node', ghost)
    redis.call('SADD', gk .. ':sessions', sid)
  end
  redis.call('DEL', nk .. ':sessions')
  redis.call('SADD', P .. 'nodes', ghost)
  -- Its media node's ingest publishers were the previous process's connections: no
  -- session can bring them back, so their streams go now (a publisher that reconnects
  -- to this process is a new ADD).
  local old_media = redis.call('HGET', nk, 'media_id')
  if old_media and old_media ~= '' and redis.call('HGET', P .. 'medianode:' .. old_media, 'node') == ME then
    ingests_lost(old_media)
  end
  existed = 0
end
if existed == 0 then redis.call('HSET', nk, 'started_ms', NOW) end
redis.call('HSET', nk, 'ws_url', ws_url, 'media_id', media_id, 'media_url', media_url, 'seen_ms', NOW)
redis.call('SET', nk .. ':alive', '1', 'PX', timeout)
redis.call('SADD', P .. 'nodes', ME)
if media_id ~= '' then
  local mk = P .. 'medianode:' .. media_id
  redis.call('HSET', mk, 'url', media_url, 'load', load, 'seen_ms', NOW, 'node', ME)
  redis.call('SET', mk .. ':alive', '1', 'PX', timeout)
  redis.call('SADD', P .. 'medianodes', media_id)
end
local reply = { existed }
for _, id in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  local h = redis.call('HMGET', P .. 'node:' .. id, 'ws_url', 'media_id', 'media_url')
  reply[#reply + 1] = id
  reply[#reply + 1] = h[1] or ''
  reply[#reply + 1] = redis.call('EXISTS', P .. 'node:' .. id .. ':alive')
  reply[#reply + 1] = h[2] or ''
  reply[#reply + 1] = h[3] or ''
end
return reply
