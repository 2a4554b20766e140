-- login.lua: a login — a resume of a session (case 1, from any node: ownership moves
-- here), a rejoin after the heartbeat timeout (case 2), or a fresh login that may
-- replace the same user's session wherever it is (duplicate login).
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: room, user id, name, notify ("1"/"0"), new session id, SHA-256 of its resume
-- key, a room_session_id for a new room, the resumed session id or "", the SHA-256 of
-- the resume key sent, last_seq, event-backlog-bytes.
-- Returns {"kicked"}, or {"resumed", rsid, seq, users, streams, name, notify, resync,
-- old node, own stream ids (JSON), then (json, subject, user-event) for each event to
-- replay}, or {"fresh",
-- rsid, seq, users, streams, rejoin, replaced session id or "", its node or ""}.
local rid, uid, name, notify = A[1], A[2], A[3], A[4]
local sid, rk_hash, new_rsid = A[5], A[6], A[7]
local resume_sid, resume_hash, last_seq = A[8], A[9], tonumber(A[10])
local backlog_bytes = tonumber(A[11])
local rejoin = '0'

if resume_sid ~= '' then
  local s = hash(session_key(resume_sid))
  if s and s.room == rid and s.uid == uid and s.rk == resume_hash then
    if s.state == 'kicked' then return { 'kicked' } end
    if s.state == 'present' then
      local old = s.node
      if old ~= ME then
        redis.call('SREM', P .. 'node:' .. old .. ':sessions', resume_sid)
        redis.call('PUBLISH', P .. 'node:' .. old, 'drop ' .. resume_sid)
      end
      redis.call('SADD', P .. 'node:' .. ME .. ':sessions', resume_sid)
      redis.call('HSET', session_key(resume_sid), 'node', ME)
      redis.call('HDEL', session_key(resume_sid), 'resync')
      local snap = snapshot(rid, resume_sid)
      local seq = tonumber(snap[2])
      -- The streams it added, on whatever node: the node it is on now keeps them as
      -- if added there (restore after an empty Redis, media claims).
      local own = {}
      for _, id in ipairs(redis.call('SMEMBERS', session_key(resume_sid) .. ':streams')) do
        own[#own + 1] = cjson.encode(id)
      end
      local reply = { 'resumed', snap[1], snap[2], snap[3], snap[4], s.name, s.notify, '0', old,
                      '[' .. table.concat(own, ',') .. ']' }
      if s.resync == '1' or last_seq > seq then
        reply[8] = '1'
      elseif last_seq < seq then
        local log = redis.call('XRANGE', room_key(rid) .. ':log', (last_seq + 1) .. '-1', '+')
        if #log == 0 or log[1][1] ~= (last_seq + 1) .. '-1' then
          reply[8] = '1'
        else
          -- As on one node, whose backlog keeps the newest events within
          -- event-backlog-bytes (at least one): a replay larger is a resync.
          local replay, size = {}, 0
          for n, entry in ipairs(log) do
            local f = {}
            for i = 1, #entry[2], 2 do f[entry[2][i]] = entry[2][i + 1] end
            size = size + #f.e
            if n > 1 and size > backlog_bytes then
              replay = nil
              break
            end
            replay[#replay + 1] = f.e
            replay[#replay + 1] = f.s
            replay[#replay + 1] = f.u
          end
          if replay == nil then
            reply[8] = '1'
          else
            for _, v in ipairs(replay) do reply[#reply + 1] = v end
          end
        end
      end
      return reply
    end
    -- Away: removed by the heartbeat timeout, still within session-ttl.
    rejoin = '1'
    redis.call('DEL', session_key(resume_sid), session_key(resume_sid) .. ':streams')
  end
end

room_open(rid, new_rsid)
local rkey = room_key(rid)
local replaced = redis.call('HGET', rkey .. ':byuser', uid)
local replaced_node = ''
if replaced then
  -- Duplicate login: the old session's streams go first, then it is kicked wherever
  -- it is, and the new session takes its place (no user DELETE/ADD).
  local old = hash(session_key(replaced))
  streams_delete(rid, redis.call('SMEMBERS', session_key(replaced) .. ':streams'), 'duplicate_login')
  member_replace(rid, replaced, sid, uid, name)
  if old then
    replaced_node = old.node
    redis.call('SREM', P .. 'node:' .. old.node .. ':sessions', replaced)
    redis.call('HSET', session_key(replaced), 'state', 'kicked')
    redis.call('PEXPIRE', session_key(replaced), math.max(TTL, 1))
    redis.call('DEL', session_key(replaced) .. ':streams')
    if old.node ~= ME then
      redis.call('PUBLISH', P .. 'node:' .. old.node, 'kick ' .. replaced .. ' 1010')
    end
  end
else
  replaced = ''
  member_put(rid, sid, uid, name)
end
redis.call('HSET', session_key(sid), 'room', rid, 'uid', uid, 'name', name, 'notify', notify,
           'rk', rk_hash, 'node', ME, 'state', 'present')
redis.call('SADD', P .. 'node:' .. ME .. ':sessions', sid)

local snap = snapshot(rid, sid)
if replaced == '' then
  emit(rid, { kind = 'user', update = 'ADD', users = { { id = uid, name = name } } }, sid)
end
return { 'fresh', snap[1], snap[2], snap[3], snap[4], rejoin, replaced, replaced_node }
