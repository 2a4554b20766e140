-- stream.lua: stream_add and stream_delete of a session of this node, and the ingest
-- streams of this node's embedded media node. Stream ids are owned per app.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A[1] is the operation:
--   add, session id, stream id, node, extra, max streams per session
--     → "ok", "gone" (not present here), "taken", "limit"
--   delete, session id, stream id, reason → "ok", "gone", "notfound"
--   ingest_add, stream id, user id, room, media node id, rsid for a new room → "ok",
--     "exists", "wait" (this user's ingest on a media node not known dead yet)
--   ingest_remove, stream id, user id, reason → "ok", "notfound"
--   ingest_sync, media node id, live (JSON [{id, uid, room, rsid}]), gone (JSON
--     {id: reason}) → {added, deleted, waiting}: after Redis was away, the ingest
--     streams of that media node become exactly the live ones (tether-server-cluster.c)
local op = A[1]

local function own_session(sid)
  local s = hash(session_key(sid))
  if not s or s.state ~= 'present' or s.node ~= ME then return nil end
  return s
end

-- Shows ingest stream @id of user @uid in room @rid on media node @media, unless
-- @id is a stream already; @rsid names the room if it is new. "ok" when it did.
-- The same user's ingest of that id in that room on a dead media node is a publisher
-- that moved here (OBS reconnecting to another node): it moves, an ADD with the new
-- node, as a member's stream does. Before, the id stayed the dead node's and its
-- reaper deleted the stream for good. "wait" while that node is not known dead.
local function ingest_put(id, uid, rid, media, rsid)
  local key = P .. 'stream:' .. id
  local st = hash(key)
  if st then
    if st.sid ~= '' or st.uid ~= uid or st.room ~= rid or st.node == media then return 'exists' end
    if redis.call('EXISTS', P .. 'medianode:' .. st.node .. ':alive') == 1 then return 'wait' end
    redis.call('SREM', P .. 'medianode:' .. st.node .. ':ingests', id)
    redis.call('SADD', P .. 'medianode:' .. media .. ':ingests', id)
    redis.call('HSET', key, 'node', media)
    emit(rid, { kind = 'stream', update = 'ADD',
                streams = { stream_of(id, { uid = uid, name = st.name, node = media, extra = st.extra }) } }, '')
    return 'ok'
  end
  room_open(rid, rsid)
  local name = uid
  local member = redis.call('HGET', room_key(rid) .. ':byuser', uid)
  if member then name = redis.call('HGET', session_key(member), 'name') or uid end
  redis.call('HSET', key, 'room', rid, 'sid', '', 'uid', uid, 'name', name, 'node', media, 'extra', '')
  redis.call('SADD', P .. 'medianode:' .. media .. ':ingests', id)
  redis.call('ZADD', room_key(rid) .. ':streams', redis.call('HINCRBY', room_key(rid), 'sn', 1), id)
  emit(rid, { kind = 'stream', update = 'ADD',
              streams = { stream_of(id, { uid = uid, name = name, node = media, extra = '' }) } }, '')
  return 'ok'
end

if op == 'add' then
  local sid, id, node, extra, max = A[2], A[3], A[4], A[5], tonumber(A[6])
  local s = own_session(sid)
  if not s then return 'gone' end
  local key = P .. 'stream:' .. id
  local st = hash(key)
  if st and st.sid == '' and st.uid == s.uid and st.room == s.room then
    -- An ingest stream of this user in this room: the session adopts it silently.
    redis.call('SREM', P .. 'medianode:' .. st.node .. ':ingests', id)
    redis.call('HSET', key, 'sid', sid)
    redis.call('SADD', session_key(sid) .. ':streams', id)
    st.sid = sid
  end
  if st and st.sid ~= sid then return 'taken' end
  if not st then
    if redis.call('SCARD', session_key(sid) .. ':streams') >= max then return 'limit' end
    redis.call('HSET', key, 'room', s.room, 'sid', sid, 'uid', s.uid, 'name', s.name,
               'node', node, 'extra', extra)
    redis.call('SADD', session_key(sid) .. ':streams', id)
    redis.call('ZADD', room_key(s.room) .. ':streams', redis.call('HINCRBY', room_key(s.room), 'sn', 1), id)
  elseif st.node == node and (st.extra or '') == extra then
    return 'ok'
  else
    redis.call('HSET', key, 'node', node, 'extra', extra)
  end
  emit(s.room, { kind = 'stream', update = 'ADD',
                 streams = { stream_of(id, { uid = s.uid, name = s.name, node = node, extra = extra }) } }, '')
  return 'ok'
elseif op == 'delete' then
  local sid, id, reason = A[2], A[3], A[4]
  local s = own_session(sid)
  if not s then return 'gone' end
  if redis.call('HGET', P .. 'stream:' .. id, 'sid') ~= sid then return 'notfound' end
  streams_delete(s.room, { id }, reason)
  return 'ok'
elseif op == 'ingest_add' then
  return ingest_put(A[2], A[3], A[4], A[5], A[6])
elseif op == 'ingest_remove' then
  local id, uid, reason = A[2], A[3], A[4]
  local st = hash(P .. 'stream:' .. id)
  if not st or st.sid ~= '' or st.uid ~= uid then return 'notfound' end
  streams_delete(st.room, { id }, reason)
  room_idle(st.room)
  return 'ok'
elseif op == 'ingest_sync' then
  -- Exactly-once as every change: a stream goes only while Redis still shows it as
  -- an ingest of this media node, and comes only while its id is free.
  local media, live, gone = A[2], cjson.decode(A[3]), cjson.decode(A[4])
  local set = P .. 'medianode:' .. media .. ':ingests'
  local have = {}
  for _, it in ipairs(live) do have[it.id] = true end
  local deleted, added, waiting = 0, 0, 0
  for _, id in ipairs(redis.call('SMEMBERS', set)) do
    if not have[id] then
      local st = hash(P .. 'stream:' .. id)
      if st and st.sid == '' and st.node == media then
        streams_delete(st.room, { id }, gone[id] or 'media_lost')
        room_idle(st.room)
        deleted = deleted + 1
      else
        redis.call('SREM', set, id)
      end
    end
  end
  for _, it in ipairs(live) do
    local put = ingest_put(it.id, it.uid, it.room, media, it.rsid)
    if put == 'ok' then added = added + 1 elseif put == 'wait' then waiting = waiting + 1 end
  end
  return { added, deleted, waiting }
end
return redis.error_reply('unknown operation')
