-- owned.lua: which of this node's sessions Redis gave away while the node was not
-- listening. A `drop` (the session resumed on another node) or `kick` (a duplicate
-- login) PUBLISHed while the node's subscriber connection was down is lost, so once
-- it is subscribed again the node asks. Read-only.
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: the session ids the node has.
-- Returns {session id, "drop" or "kick", ...} for each one given away.
local out = {}
for _, sid in ipairs(A) do
  local s = redis.call('HMGET', session_key(sid), 'state', 'node')
  if s[1] == 'present' and s[2] ~= ME then
    out[#out + 1] = sid
    out[#out + 1] = 'drop'
  elseif s[1] == 'kicked' then
    out[#out + 1] = sid
    out[#out + 1] = 'kick'
  end
end
return out
