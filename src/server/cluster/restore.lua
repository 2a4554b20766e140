-- restore.lua: after Redis came back empty, a present session of this node is put
-- back — in its room (a new room_session_id when the room is new), with its streams —
-- and marked so that its next resume is a resync.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: session id, SHA-256 of its resume key, room, user id, name, notify, rsid for a
-- new room, then (stream id, node, extra) per stream.
-- Returns {"ok", rsid} or {"conflict"} (the user logged in again meanwhile).
local sid, rk_hash, rid, uid, name, notify, rsid = A[1], A[2], A[3], A[4], A[5], A[6], A[7]
if redis.call('EXISTS', session_key(sid)) == 1 then return { 'ok', redis.call('HGET', room_key(rid), 'rsid') } end
rsid = room_open(rid, rsid)
local rkey = room_key(rid)
if redis.call('HGET', rkey .. ':byuser', uid) then return { 'conflict' } end
member_put(rid, sid, uid, name)
redis.call('HSET', session_key(sid), 'room', rid, 'uid', uid, 'name', name, 'notify', notify,
           'rk', rk_hash, 'node', ME, 'state', 'present', 'resync', '1')
redis.call('SADD', P .. 'node:' .. ME .. ':sessions', sid)
emit(rid, { kind = 'user', update = 'ADD', users = { { id = uid, name = name } } }, sid)
local items = {}
for i = 8, #A - 2, 3 do
  local id, node, extra = A[i], A[i + 1], A[i + 2]
  if redis.call('EXISTS', P .. 'stream:' .. id) == 0 then
    redis.call('HSET', P .. 'stream:' .. id, 'room', rid, 'sid', sid, 'uid', uid, 'name', name,
               'node', node, 'extra', extra)
    redis.call('SADD', session_key(sid) .. ':streams', id)
    redis.call('ZADD', rkey .. ':streams', redis.call('HINCRBY', rkey, 'sn', 1), id)
    items[#items + 1] = stream_of(id, { uid = uid, name = name, node = node, extra = extra })
  end
end
if #items > 0 then emit(rid, { kind = 'stream', update = 'ADD', streams = items }, '') end
return { 'ok', rsid }
