#!/usr/bin/env python3
# make-seeds.py: writes the hand-made seeds of tests/fuzz/corpus/ (files named
# seed-*). Everything else in corpus/ (crash-*, and inputs libFuzzer found and
# `-merge=1` kept) is left alone. Tokens are signed with the harnesses' secret
# (fuzz-common.h) and valid from 2023 to 2100, so seeds never expire.
#
#   tests/fuzz/make-seeds.py [CORPUS_DIR]
#
# SPDX-License-Identifier: GPL-3.0-or-later
import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import zlib

SECRET = b"tether-fuzz-secret"   # TETHER_FUZZ_SECRET
APP = "demo"                     # TETHER_FUZZ_APP_ID
IAT = 1700000000                 # TETHER_FUZZ_NOW
EXP = 4102444800                 # 2100-01-01

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload_b64):
    return b64url(hmac.new(SECRET, payload_b64.encode(), hashlib.sha256).digest())


def claims(uid, room=None, priv=("login",), streams=None, iat=IAT, exp=EXP, nonce="AAECAwQFBgcICQoL"):
    c = {"v": 1, "app": APP, "uid": uid}
    if room is not None:
        c["room"] = room
    c["priv"] = list(priv)
    if streams is not None:
        c["streams"] = list(streams)
    c["iat"] = iat
    c["exp"] = exp
    c["nonce"] = nonce
    return json.dumps(c, separators=(",", ":"), ensure_ascii=False)


def token(*args, **kwargs):
    payload_b64 = b64url(claims(*args, **kwargs).encode())
    return payload_b64 + "." + sign(payload_b64)


def write(name, filename, data):
    d = os.path.join(corpus, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + filename), "wb") as f:
        f.write(data)


def j(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


ALICE = token("alice", "lobby", ("login", "publish"))
BOB = token("bob", "lobby", ("login",))
CAROL_CAMS = token("carol", None, ("login", "publish"), streams=["cam1", "screen"])

# ---- protocol: every message of docs/protocol.md, both directions ----------------
login = {"type": "login", "v": 1, "app_id": APP, "room_id": "lobby",
         "user": {"id": "alice", "name": "Alice"}, "token": ALICE, "notify_users": True}
messages = {
    "login": login,
    "login-resume": dict(login, resume={"session_id": "s1", "resume_key": "k1", "last_seq": 17}),
    "heartbeat": {"type": "heartbeat", "id": 5},
    "heartbeat-string-id": {"type": "heartbeat", "id": "hb-5"},
    "logout": {"type": "logout"},
    "stream-add": {"type": "stream_add", "req": 3, "stream": {"id": "cam1", "extra": "{\"w\":1280}", "node": "node-a"}},
    "stream-delete": {"type": "stream_delete", "req": 4, "stream_id": "cam1", "reason": "stopped"},
    "token-renew": {"type": "token_renew", "req": 5, "token": ALICE},
    "login-ok": {"type": "login_ok", "v": 1, "room_session_id": "9f2c", "session_id": "s1",
                 "resume_key": "k1", "resumed": False, "seq": 42,
                 "users": [{"id": "bob", "name": "Bob"}],
                 "streams": [{"id": "cam1", "user_id": "bob", "user_name": "Bob", "node": "node-a", "extra": ""}],
                 "heartbeat_interval": 1.0, "heartbeat_timeout": 90.0, "session_ttl": 1200.0,
                 "token_expires_at": 1760000000,
                 "media_nodes": [{"id": "node-a", "url": "srt://127.0.0.1:9000"}]},
    "heartbeat-ack": {"type": "heartbeat_ack", "id": 5, "seq": 42},
    "event-user": {"type": "event", "seq": 43, "kind": "user", "update": "ADD", "users": [{"id": "carol", "name": "Carol"}]},
    "event-stream": {"type": "event", "seq": 44, "kind": "stream", "update": "DELETE", "reason": "heartbeat_timeout",
                     "streams": [{"id": "cam1", "user_id": "bob", "user_name": "Bob", "node": "node-a", "extra": ""}]},
    "kick-out": {"type": "kick_out", "code": 1010, "message": "logged in elsewhere"},
    "token-will-expire": {"type": "token_will_expire", "expires_at": 1760000000, "remaining": 30.0},
    "reconnect": {"type": "reconnect", "retry_after": 0.8},
    "error": {"type": "error", "code": 1013, "message": "nesting too deep"},
    "request-error": {"type": "request_error", "req": 3, "code": 2003, "message": "stream id in use"},
    "stream-add-ok": {"type": "stream_add_ok", "req": 3},
    "token-renew-ok": {"type": "token_renew_ok", "req": 5, "expires_at": 1760000000},
    "logout-ok": {"type": "logout_ok"},
}
for name, msg in messages.items():
    write("protocol", name + ".json", j(msg))
write("protocol", "escapes.json", '{"type":"x","s":"\\u00e9\\ud83d\\ude00\\n\\"\\\\","n":-1.5e3,"b":[true,false,null]}')
write("protocol", "depth-8.json", '{"type":"x","a":[[[[[[{"b":1}]]]]]]}')
write("protocol", "single-quotes.json", "{'type':'x'}")
write("protocol", "max-integer.json", '{"type":"heartbeat","id":9007199254740991}')

# ---- token and token-claims ----------------------------------------------------------
tokens = {
    "login-room": token("alice", "lobby"),
    "publish-any-room": token("alice", None, ("login", "publish")),
    "publish-streams": CAROL_CAMS,
    "no-privileges": token("bob", "lobby", ()),
    "expired": token("bob", "lobby", exp=IAT - 3600, iat=IAT - 7200),
    "future": token("bob", "lobby", iat=IAT + 3600),
    "other-app": b64url(j({"v": 1, "app": "other", "uid": "x", "priv": ["login"], "iat": IAT, "exp": EXP, "nonce": "n"}).encode()),
}
tokens["other-app"] += "." + sign(tokens["other-app"])
for name, t in tokens.items():
    write("token", name, t)
write("token", "bad-signature", token("alice", "lobby")[:-4] + "AAAA")
write("token", "no-dot", "eyJ2IjoxfQ")

claim_seeds = {
    "login-room.json": claims("alice", "lobby"),
    "publish-streams.json": claims("carol", None, ("login", "publish"), streams=["cam1", "screen"]),
    "no-room.json": claims("bob"),
    "unknown-privilege.json": claims("bob", priv=("login", "admin")),
    "expired.json": claims("bob", iat=IAT - 7200, exp=IAT - 3600),
    "extra-members.json": '{"v":1,"app":"demo","uid":"alice","priv":["login"],"iat":1700000000,"exp":4102444800,"nonce":"n","x":{"y":[1,2]}}',
    "unicode-uid.json": '{"v":1,"app":"demo","uid":"\\u00e9l\\u00e8ve","priv":["login"],"iat":1700000000,"exp":4102444800,"nonce":"n"}',
}
for name, c in claim_seeds.items():
    write("token-claims", name, c)

# ---- stream-id -------------------------------------------------------------------
PUB = token("alice", "lobby", ("login", "publish"), streams=["cam1"])
PLAY = token("bob", "lobby")
sids = {
    "publish": "#!::r=cam1,m=publish,t=" + PUB,
    "request": "#!::r=cam1,m=request,t=" + PLAY,
    "default-mode": "#!::r=cam1,t=" + PLAY,
    "user": "#!::u=alice,r=cam1,m=publish,t=" + PUB,
    "srt-type": "#!::r=cam1,m=request,t=stream,s=" + PLAY,
    "unknown-key": "#!::r=cam1,m=request,h=host.example,t=" + PLAY,
    "bad-mode": "#!::r=cam1,m=bidirectional,t=" + PLAY,
    "no-token": "#!::r=cam1,m=request",
}
sids["url-escaped"] = "".join("%%%02X" % ord(ch) if ch in "#!:=," else ch for ch in sids["publish"])
for name, s in sids.items():
    write("stream-id", name, s)

# ---- ts: PAT, PMT and video packets ------------------------------------------------
def crc32_mpeg(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def ts_packet(pid, payload, pusi=True, cc=0, adaptation=None):
    head = bytes([0x47, (0x40 if pusi else 0) | (pid >> 8), pid & 0xff])
    if adaptation is not None:
        head += bytes([0x30 | (cc & 0xf), len(adaptation)]) + adaptation
    else:
        head += bytes([0x10 | (cc & 0xf)])
    pkt = head + payload
    assert len(pkt) <= 188, len(pkt)
    if len(pkt) < 188:
        # pad with an adaptation field of stuffing would be exact; 0xff after the
        # section or PES is what muxers send for PSI and is fine for the tracker
        pkt += b"\xff" * (188 - len(pkt))
    return pkt


def section(table_id, body):
    length = len(body) + 4
    sec = bytes([table_id, 0xB0 | (length >> 8), length & 0xff]) + body
    return sec + struct.pack(">I", crc32_mpeg(sec))


def pat(pmt_pid):
    body = struct.pack(">HBBB", 1, 0xC1, 0, 0) + struct.pack(">HH", 1, 0xE000 | pmt_pid)
    return ts_packet(0, b"\x00" + section(0x00, body))


def pmt(streams, pcr_pid=0x100):
    body = struct.pack(">HBBB", 1, 0xC1, 0, 0) + struct.pack(">HH", 0xE000 | pcr_pid, 0xF000)
    for stype, pid in streams:
        body += bytes([stype]) + struct.pack(">HH", 0xE000 | pid, 0xF000)
    return ts_packet(0x1000, b"\x00" + section(0x02, body))


def pes(nals, stream_id=0xE0):
    header = bytes([0x80, 0x80, 5]) + b"\x21\x00\x01\x00\x01"  # PTS only
    es = b"".join(b"\x00\x00\x00\x01" + n for n in nals)
    return b"\x00\x00\x01" + bytes([stream_id]) + b"\x00\x00" + header + es


H264_IDR = [b"\x09\xf0", b"\x67\x42\xc0\x1e\xda\x02\x80", b"\x68\xce\x3c\x80", b"\x65\x88\x84\x00"]
H264_P = [b"\x09\xf0", b"\x41\x9a\x02"]
H265_IRAP = [b"\x46\x01\x50", b"\x40\x01\x0c\x01", b"\x42\x01\x01", b"\x44\x01\xc1", b"\x26\x01\xaf"]
write("ts", "h264-pat-pmt-idr.ts",
      pat(0x1000) + pmt([(0x1b, 0x100), (0x0f, 0x101)]) + ts_packet(0x100, pes(H264_IDR))
      + ts_packet(0x100, b"\x00" * 100, pusi=False, cc=1) + ts_packet(0x100, pes(H264_P), cc=2))
write("ts", "h264-random-access.ts",
      pat(0x1000) + pmt([(0x1b, 0x100)]) + ts_packet(0x100, pes(H264_P), adaptation=b"\x40"))
write("ts", "h265-pat-pmt-irap.ts", pat(0x1000) + pmt([(0x24, 0x100)]) + ts_packet(0x100, pes(H265_IRAP)))
write("ts", "audio-only.ts", pat(0x1000) + pmt([(0x0f, 0x101)]) + ts_packet(0x101, pes([b"\xff\xf1"], 0xC0)))
write("ts", "pmt-pid-change.ts",
      pat(0x1000) + pmt([(0x1b, 0x100)]) + pat(0x1001) + ts_packet(0x1001, pmt([(0x24, 0x200)])[4:]))
write("ts", "null-packets.ts", ts_packet(0x1fff, b"\xff" * 184, pusi=False) * 2 + pat(0x1000))

# ---- engine-config --------------------------------------------------------------------
write("engine-config", "one", "room_retry_time=1200")
write("engine-config", "all", "room_retry_time=1200;av_retry_time=30.5;login_timeout=10;"
      "room_link_timeout=2.5;room_backoff_max=1;logout_timeout=2")
write("engine-config", "newlines-spaces", " room_retry_time = 60 \n\n av_retry_time=1e2 ;")
write("engine-config", "unknown-key", "room_retry_time=60;colour=blue")
write("engine-config", "bad-value", "login_timeout=-1")

# ---- server-config --------------------------------------------------------------------
write("server-config", "full.conf", """# tether-server --config
[server]
listen=127.0.0.1:7480
app-id=demo
app-secret=s3cret
media-listen=0.0.0.0:7481
media-url=srt://media.example:7481
media-id=local
media-node=a=srt://a.example:9000;b=srt://b.example:9000;
heartbeat-timeout=90
heartbeat-interval=1.0
session-ttl=1200
token-warning=30
token-skew=30
login-rate=50
login-burst=100
login-grace=10
shutdown-retry-after=1.0
""")
write("server-config", "ipv6.conf", "[server]\nlisten=[::1]:7480\nno-media=true\n")
write("server-config", "media-only.conf", "[server]\nmedia-only=true\nmedia-listen=127.0.0.1:0\n")
write("server-config", "both-media-flags.conf", "[server]\nmedia-only=true\nno-media=true\n")
write("server-config", "bad-double.conf", "[server]\nheartbeat-timeout=soon\n")
write("server-config", "other-group.conf", "[client]\nlisten=x\n[server]\nlogin-rate=0\n")

# ---- room: a server talking to one room client -------------------------------------
login_ok = {"type": "login_ok", "v": 1, "room_session_id": "rs1", "session_id": "s1",
            "resume_key": "k1", "resumed": False, "seq": 2,
            "users": [{"id": "bob", "name": "Bob"}],
            "streams": [{"id": "bobcam", "user_id": "bob", "user_name": "Bob", "node": "local", "extra": ""}],
            "heartbeat_interval": 1.0, "heartbeat_timeout": 90.0, "session_ttl": 1200.0,
            "token_expires_at": 1760000000, "media_nodes": [{"id": "local", "url": "srt://127.0.0.1:7481"}]}
ev = lambda seq, kind, update, items, reason=None: j(dict({"type": "event", "seq": seq, "kind": kind, "update": update,
                                                        ("users" if kind == "user" else "streams"): items},
                                                       **({"reason": reason} if reason else {})))
carol = {"id": "carol", "name": "Carol"}
carolcam = {"id": "carolcam", "user_id": "carol", "user_name": "Carol", "node": "local", "extra": "{}"}
lines = [
    j(login_ok),
    j({"type": "stream_add_ok", "req": 1}),
    j({"type": "heartbeat_ack", "id": 0, "seq": 2}),
    ev(3, "user", "ADD", [carol]),
    ev(4, "stream", "ADD", [carolcam]),
    ev(4, "stream", "ADD", [carolcam]),
    ev(5, "stream", "DELETE", [carolcam], "stopped"),
    ev(6, "user", "DELETE", [carol]),
    j({"type": "token_will_expire", "expires_at": 1760000000, "remaining": 30.0}),
    "!renew newtoken",
    j({"type": "token_renew_ok", "req": 2, "expires_at": 1760003600}),
    "!add cam2",
    j({"type": "request_error", "req": 3, "code": 2003, "message": "stream id in use"}),
    "!delete mycam",
    j({"type": "stream_delete_ok", "req": 4}),
    "!logout",
    j({"type": "logout_ok"}),
]
write("room", "session.txt", "\n".join(lines) + "\n")
write("room", "reconnect-resume.txt", "\n".join([
    j(login_ok),
    j({"type": "reconnect", "retry_after": 0.8}),
    j(dict(login_ok, resumed=True, seq=7)),
    ev(8, "stream", "ADD", [carolcam]),
    j(dict(login_ok, resumed=True, resync=True, seq=9, users=[carol], streams=[carolcam])),
]) + "\n")
write("room", "login-error.txt", j({"type": "error", "code": 1004, "message": "token is invalid"}) + "\n")
write("room", "kicked.txt", j(login_ok) + "\n" + j({"type": "kick_out", "code": 1010, "message": "logged in elsewhere"}) + "\n")
write("room", "own-user-and-streams.txt", "\n".join([
    j(dict(login_ok, users=[{"id": "me", "name": "Me"}, carol],
           streams=[dict(carolcam, id="mycam", user_id="me"), carolcam])),
    ev(3, "user", "ADD", [{"id": "me"}]),
    ev(4, "stream", "ADD", [dict(carolcam, user_id="me", id="x")]),
]) + "\n")
write("room", "transient-error.txt", j(login_ok) + "\n" + j({"type": "error", "code": 5000, "message": "busy"}) + "\n!reconnect\n")

# ---- server: clients talking to a real TetherServer ---------------------------------------
def login_line(client, uid, tok, room="lobby", notify=True, resume=None, name=None):
    msg = {"type": "login", "v": 1, "app_id": APP, "room_id": room,
           "user": {"id": uid, "name": name or uid.capitalize()}, "token": tok, "notify_users": notify}
    if resume is not None:
        msg["resume"] = resume
    return "@%d %s" % (client, j(msg))


BOB_PUB = token("bob", "lobby", ("login", "publish"))
write("server", "room-life.txt", "\n".join([
    login_line(0, "alice", ALICE),
    login_line(1, "bob", BOB_PUB),
    "@0 " + j({"type": "heartbeat", "id": 1}),
    "@0 " + j({"type": "stream_add", "req": 1, "stream": {"id": "alicecam", "extra": "{\"w\":1280}", "node": "local"}}),
    "@1 " + j({"type": "stream_add", "req": 1, "stream": {"id": "alicecam", "node": "local"}}),
    "@1 " + j({"type": "stream_add", "req": 2, "stream": {"id": "bobcam", "node": "local"}}),
    "@0 " + j({"type": "stream_delete", "req": 2, "stream_id": "bobcam", "reason": "stopped"}),
    "@0 " + j({"type": "stream_delete", "req": 3, "stream_id": "alicecam", "reason": "media_lost"}),
    "@0 " + j({"type": "token_renew", "req": 4, "token": ALICE}),
    "@1 " + j({"type": "heartbeat", "id": "hb"}),
    "@0 " + j({"type": "logout"}),
    "@1 !close",
]) + "\n")
write("server", "resume.txt", "\n".join([
    login_line(0, "alice", ALICE),
    login_line(1, "bob", BOB_PUB),
    "@1 " + j({"type": "stream_add", "req": 1, "stream": {"id": "bobcam", "node": "local"}}),
    "@0 !drop",
    "@1 " + j({"type": "stream_delete", "req": 2, "stream_id": "bobcam"}),
    login_line(0, "alice", ALICE, resume={"session_id": "$S0", "resume_key": "$K0", "last_seq": 1}),
    "@0 " + j({"type": "heartbeat", "id": 2}),
]) + "\n")
write("server", "duplicate-login.txt", "\n".join([
    login_line(0, "alice", ALICE),
    "@0 " + j({"type": "stream_add", "req": 1, "stream": {"id": "cam", "node": "local"}}),
    login_line(1, "alice", ALICE),
    login_line(0, "alice", ALICE, resume={"session_id": "$S0", "resume_key": "$K0", "last_seq": 0}),
]) + "\n")
write("server", "rejected.txt", "\n".join([
    "@0 " + j({"type": "heartbeat"}),
    "@1 " + j({"type": "login", "v": 2}),
    "@2 !binary {}",
    login_line(0, "alice", "not.a-token"),
    login_line(1, "bob", BOB, room="elsewhere"),
    login_line(2, "carol", CAROL_CAMS, notify=False),
    "@2 " + j({"type": "stream_add", "req": 1, "stream": {"id": "notmine", "node": "local"}}),
    "@2 " + j({"type": "stream_add", "req": "x"}),
    "@2 " + j({"type": "login"}),
    "@2 " + j({"type": "bogus"}),
]) + "\n")
write("server", "scoped-token.txt", "\n".join([
    login_line(0, "carol", CAROL_CAMS, room="any-room"),
    "@0 " + j({"type": "stream_add", "req": 1, "stream": {"id": "cam1", "node": "local", "extra": "x" * 64}}),
    "@0 " + j({"type": "stream_add", "req": 2, "stream": {"id": "cam9", "node": "local"}}),
]) + "\n")
