-- common.lua: what every cluster script of the room service starts with (the C side
-- prepends it to each script): the arguments every script gets, the time, and the
-- changes that emit room events. docs/design.md, "Several nodes", lists the keys.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- ARGV[1] key prefix "tether:<app_id>:", ARGV[2] event-backlog, ARGV[3] session-ttl
-- (ms), ARGV[4] this node's id; the script's own arguments follow from ARGV[5].
local P = ARGV[1]
local BACKLOG = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
local ME = ARGV[4]
local A = {}
for i = 5, #ARGV do A[#A + 1] = ARGV[i] end

-- Redis' clock, so that every node agrees (scripts replicate by effects).
local T = redis.call('TIME')
local NOW = tonumber(T[1]) * 1000 + math.floor(tonumber(T[2]) / 1000)

local function hash(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

-- A room's keys are `P room:{<rid>}` and `P room:{<rid>}:<part>`: an id never holds
-- a brace, so no room id (which may hold ':') can name another room's part.
local function room_key(rid) return P .. 'room:{' .. rid .. '}' end
local function session_key(sid) return P .. 'session:' .. sid end
local ROOM_PARTS = { '', ':members', ':byuser', ':userjson', ':userlist', ':streams', ':streamjson', ':log' }

-- The room's hash, made with @rsid when it does not exist; its keys lose any expiry.
local function room_open(rid, rsid)
  local rk = room_key(rid)
  if redis.call('EXISTS', rk) == 0 then
    redis.call('DEL', rk .. ':log', rk .. ':userlist')
    redis.call('HSET', rk, 'rsid', rsid, 'seq', 0, 'jn', 0, 'sn', 0)
  end
  for _, part in ipairs(ROOM_PARTS) do redis.call('PERSIST', rk .. part) end
  return redis.call('HGET', rk, 'rsid')
end

-- An empty room is forgotten session-ttl later, like a room of one node.
local function room_idle(rid)
  local rk = room_key(rid)
  if redis.call('ZCARD', rk .. ':members') == 0 and redis.call('ZCARD', rk .. ':streams') == 0 then
    for _, part in ipairs(ROOM_PARTS) do
      if TTL > 0 then redis.call('PEXPIRE', rk .. part, TTL) else redis.call('DEL', rk .. part) end
    end
  end
end

-- Takes the room's next seq, appends the event to its log and publishes it:
-- "seq\nsubject\nuser-event\nms\njson" on the room's channel. A stream ADD (a new
-- stream, or its node or extra changed) also keeps each stream's wire form in the
-- room's :streamjson, for snapshots; streams_delete() takes it out.
local function emit(rid, ev, subject)
  local rk = room_key(rid)
  if ev.kind == 'stream' and ev.update == 'ADD' then
    for _, st in ipairs(ev.streams) do
      redis.call('HSET', rk .. ':streamjson', st.id, cjson.encode(st))
    end
  end
  local seq = redis.call('HINCRBY', rk, 'seq', 1)
  local user_event = ev.kind == 'user' and '1' or '0'
  ev.type = 'event'
  ev.seq = seq
  local json = cjson.encode(ev)
  redis.call('XADD', rk .. ':log', 'MAXLEN', math.max(BACKLOG, 1), seq .. '-1',
             'e', json, 's', subject, 'u', user_event)
  redis.call('PUBLISH', rk, seq .. '\n' .. subject .. '\n' .. user_event .. '\n' .. NOW .. '\n' .. json)
  return seq
end

local function user_of(s) return { id = s.uid, name = s.name } end

-- HMGET of @fields (a list) of hash @key, in slices: unpack() is bounded by Lua's stack.
local function hmget_list(key, fields)
  local values = {}
  for i = 1, #fields, 1000 do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + 999, #fields)))
    for _, v in ipairs(part) do values[#values + 1] = v end
  end
  return values
end

-- A room's members, for snapshots: :userjson maps each present session to its wire
-- form ({"id","name"}, as user events carry it) and :userlist is those wire forms in
-- join order, joined by ',' (a JSON array without its brackets). Joins append to the
-- list, a duplicate login replaces its entry in place and a leave cuts it out, so that
-- no change and no snapshot reads every member; a list found missing or out of step
-- is rebuilt from :members and :userjson.

local function users_rebuild(rid)
  local rk = room_key(rid)
  local items = {}
  for _, json in ipairs(hmget_list(rk .. ':userjson', redis.call('ZRANGE', rk .. ':members', 0, -1))) do
    if json then items[#items + 1] = json end
  end
  local list = table.concat(items, ',')
  redis.call('SET', rk .. ':userlist', list)
  return list
end

-- @list without its entry @item (with one separator), or nil when it is not there.
-- An entry can only match whole: in JSON a raw '{"' only starts an object.
local function list_cut(list, item)
  local p = string.find(list, item, 1, true)
  if not p then return nil end
  if p > 1 then return string.sub(list, 1, p - 2) .. string.sub(list, p + #item) end
  return string.sub(list, p + #item + 1)
end

-- Session @sid of user @uid is a present member of room @rid, last in the join order.
local function member_put(rid, sid, uid, name)
  local rk = room_key(rid)
  local json = cjson.encode({ id = uid, name = name })
  redis.call('ZADD', rk .. ':members', redis.call('HINCRBY', rk, 'jn', 1), sid)
  redis.call('HSET', rk .. ':byuser', uid, sid)
  redis.call('HSET', rk .. ':userjson', sid, json)
  if redis.call('EXISTS', rk .. ':userlist') == 0 then
    users_rebuild(rid)
  elseif redis.call('STRLEN', rk .. ':userlist') == 0 then
    redis.call('SET', rk .. ':userlist', json)
  else
    redis.call('APPEND', rk .. ':userlist', ',' .. json)
  end
end

-- Session @sid of user @uid is no longer a member of room @rid.
local function member_drop(rid, sid, uid)
  local rk = room_key(rid)
  local json = redis.call('HGET', rk .. ':userjson', sid)
  redis.call('ZREM', rk .. ':members', sid)
  redis.call('HDEL', rk .. ':userjson', sid)
  if redis.call('HGET', rk .. ':byuser', uid) == sid then redis.call('HDEL', rk .. ':byuser', uid) end
  local list = redis.call('GET', rk .. ':userlist')
  local cut = json and list and list_cut(list, json)
  if cut then redis.call('SET', rk .. ':userlist', cut) else users_rebuild(rid) end
end

-- Session @sid of user @uid (display name @name) takes the place of the same user's
-- session @old in room @rid: same place in the join order, no leave, no join.
local function member_replace(rid, old, sid, uid, name)
  local rk = room_key(rid)
  local order = redis.call('ZSCORE', rk .. ':members', old)
  local old_json = redis.call('HGET', rk .. ':userjson', old)
  if not order or not old_json then
    member_drop(rid, old, uid)
    member_put(rid, sid, uid, name)
    return
  end
  local json = cjson.encode({ id = uid, name = name })
  redis.call('ZREM', rk .. ':members', old)
  redis.call('HDEL', rk .. ':userjson', old)
  redis.call('ZADD', rk .. ':members', order, sid)
  redis.call('HSET', rk .. ':byuser', uid, sid)
  redis.call('HSET', rk .. ':userjson', sid, json)
  local list = redis.call('GET', rk .. ':userlist')
  local p = list and string.find(list, old_json, 1, true)
  if p then
    redis.call('SET', rk .. ':userlist', string.sub(list, 1, p - 1) .. json .. string.sub(list, p + #old_json))
  else
    users_rebuild(rid)
  end
end

local function stream_of(id, st)
  return { id = id, user_id = st.uid, user_name = st.name, node = st.node, extra = st.extra or '' }
end

-- Deletes @ids (streams of room @rid) in one stream DELETE event, in add order.
local function streams_delete(rid, ids, reason)
  if #ids == 0 then return end
  local rk = room_key(rid)
  local order = {}
  for _, id in ipairs(ids) do
    order[#order + 1] = { id = id, n = tonumber(redis.call('ZSCORE', rk .. ':streams', id) or 0) }
  end
  table.sort(order, function (a, b) return a.n < b.n end)
  local items = {}
  for _, o in ipairs(order) do
    local st = hash(P .. 'stream:' .. o.id)
    if st then
      items[#items + 1] = stream_of(o.id, st)
      if st.sid ~= '' then redis.call('SREM', session_key(st.sid) .. ':streams', o.id) end
      if st.sid == '' then redis.call('SREM', P .. 'medianode:' .. st.node .. ':ingests', o.id) end
    end
    redis.call('DEL', P .. 'stream:' .. o.id)
    redis.call('ZREM', rk .. ':streams', o.id)
    redis.call('HDEL', rk .. ':streamjson', o.id)
  end
  if #items > 0 then
    emit(rid, { kind = 'stream', update = 'DELETE', reason = reason, streams = items }, '')
  end
end

-- The ingest streams of media node @media went with its process: deleted
-- ("media_lost"), one event per room.
local function ingests_lost(media)
  local byroom = {}
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'medianode:' .. media .. ':ingests')) do
    local room = redis.call('HGET', P .. 'stream:' .. id, 'room')
    if room then
      byroom[room] = byroom[room] or {}
      table.insert(byroom[room], id)
    end
  end
  for room, ids in pairs(byroom) do
    streams_delete(room, ids, 'media_lost')
    room_idle(room)
  end
  redis.call('DEL', P .. 'medianode:' .. media .. ':ingests')
end

-- A present session leaves its room: its streams go (@reason), then the user.
-- @keep_ms > 0 keeps it resumable (away, a rejoin) that long; else it is gone.
local function session_leave(sid, s, reason, keep_ms)
  local rk = room_key(s.room)
  streams_delete(s.room, redis.call('SMEMBERS', session_key(sid) .. ':streams'), reason)
  member_drop(s.room, sid, s.uid)
  redis.call('SREM', P .. 'node:' .. s.node .. ':sessions', sid)
  emit(s.room, { kind = 'user', update = 'DELETE', users = { user_of(s) } }, sid)
  room_idle(s.room)
  redis.call('DEL', session_key(sid) .. ':streams')
  if keep_ms > 0 then
    redis.call('HSET', session_key(sid), 'state', 'away')
    redis.call('PEXPIRE', session_key(sid), keep_ms)
  else
    redis.call('DEL', session_key(sid))
  end
end

-- The room as a joiner sees it: {rsid, seq, users (JSON), streams (JSON)}; the
-- users leave @except out. Built from :userlist (one read, whatever the room's size)
-- and the wire forms kept in :streamjson, in add order.
local function snapshot(rid, except)
  local rk = room_key(rid)
  local users = redis.call('GET', rk .. ':userlist') or users_rebuild(rid)
  local own = redis.call('HGET', rk .. ':userjson', except)
  if own then
    users = list_cut(users, own) or list_cut(users_rebuild(rid), own) or users
  end
  local streams = {}
  for _, json in ipairs(hmget_list(rk .. ':streamjson', redis.call('ZRANGE', rk .. ':streams', 0, -1))) do
    if json then streams[#streams + 1] = json end
  end
  local room = redis.call('HMGET', rk, 'rsid', 'seq')
  return { room[1], room[2], '[' .. users .. ']',
           '[' .. table.concat(streams, ',') .. ']' }
end
