-- owned.lua: where this node's view of its sessions and Redis's parted while the node
-- was not listening or lost replies. A `drop` (the session resumed on another node)
-- or `kick` (a duplicate login) PUBLISHed while the node's subscriber connection was
-- down is lost; a login or resume whose answer was lost with the connection left a
-- session Redis counts as this node's that the node never made. Read-only.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: the session ids the node has or has a login in flight for.
-- Returns {session id, what, ...}: "drop" (present on another node), "kick" (kicked)
-- for sessions it has, "lost" for present sessions of this node it does not know.
local out = {}
local known = {}
for _, sid in ipairs(A) do
  known[sid] = true
  local s = redis.call('HMGET', session_key(sid), 'state', 'node')
  if s[1] == 'present' and s[2] ~= ME then
    out[#out + 1] = sid
    out[#out + 1] = 'drop'
  elseif s[1] == 'kicked' then
    out[#out + 1] = sid
    out[#out + 1] = 'kick'
  end
end
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'node:' .. ME .. ':sessions')) do
  if not known[sid] then
    out[#out + 1] = sid
    out[#out + 1] = 'lost'
  end
end
return out
