-- leave.lua: a session of this node leaves its room — heartbeat timeout (kept
-- resumable), token expiry or logout (gone) — if it is still present and still
-- this node's (a resume elsewhere moved it: then nothing happens).
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- A: session id, stream reason, ms to keep it resumable (0: gone), owner node.
-- Returns 1 when it left, 0 when the precondition failed.
local sid, reason, keep_ms, owner = A[1], A[2], tonumber(A[3]), A[4]
local s = hash(session_key(sid))
if not s or s.state ~= 'present' or s.node ~= owner then return 0 end
session_leave(sid, s, reason, keep_ms)
return 1
