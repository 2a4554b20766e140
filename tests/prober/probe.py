#!/usr/bin/env python3
# An outside client of the room service, written from docs/protocol.md and
# docs/errors.md only (never from src/): a hand-rolled RFC 6455 WebSocket over a
# socket, tokens minted as protocol.md's "Tokens" says, and one check per documented
# promise, on one node and on a cluster of nodes sharing a private redis-server.
# Prints TAP. Needs TETHER_SERVER (the tether-server binary) and redis-server.
#
# Every wait is on a condition with a deadline scaled by TETHER_TEST_TIMEOUT_SCALE.

import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

SCALE = float(os.environ.get('TETHER_TEST_TIMEOUT_SCALE', '1') or 1)
SERVER = os.environ.get('TETHER_SERVER') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', '_build', 'src', 'server',
    'tether-server')
REDIS = shutil.which('redis-server') or '/usr/bin/redis-server'
APP = 'probe'
SECRET = 'probe-secret-0123456789abcdef'


def deadline(seconds):
    return time.monotonic() + seconds * SCALE


# ---------------------------------------------------------------- tokens

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def mint(user, room=None, publish=False, streams=None, lifetime=3600, app=APP,
         secret=SECRET, priv=None, iat=None):
    now = int(time.time())
    claims = {'v': 1, 'app': app, 'uid': user,
              'priv': priv if priv is not None else (['login', 'publish'] if publish else ['login']),
              'iat': now if iat is None else iat, 'exp': now + lifetime,
              'nonce': b64url(secrets.token_bytes(12))}
    if room is not None:
        claims['room'] = room
    if streams is not None:
        claims['streams'] = list(streams)
    payload = b64url(json.dumps(claims, separators=(',', ':')).encode('utf-8'))
    mac = hmac.new(secret.encode('utf-8'), payload.encode('ascii'), hashlib.sha256)
    return payload + '.' + b64url(mac.digest())


# ---------------------------------------------------------------- WebSocket

class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__('closed %r %r' % (code, reason))
        self.code = code
        self.reason = reason


class WS:
    def __init__(self, port, host='127.0.0.1', path='/ws', tls=None):
        self.sock = socket.create_connection((host, port), timeout=5 * SCALE)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        req = ('GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n'
               'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
               'Sec-WebSocket-Version: 13\r\n\r\n' % (path, host, port, key))
        self.sock.sendall(req.encode())
        self.buf = b''
        end = deadline(5)
        while b'\r\n\r\n' not in self.buf:
            self._fill(end)
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        if ' 101 ' not in lines[0] + ' ':
            raise RuntimeError('no upgrade: ' + lines[0])
        want = base64.b64encode(hashlib.sha1(
            (key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').encode()).digest()).decode()
        hdrs = {l.split(':', 1)[0].strip().lower(): l.split(':', 1)[1].strip()
                for l in lines[1:] if ':' in l}
        if hdrs.get('sec-websocket-accept') != want:
            raise RuntimeError('bad Sec-WebSocket-Accept')
        self.headers = hdrs
        self.lock = threading.Lock()
        self.closed = None
        self.eof = False

    def _fill(self, end):
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError('deadline')
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError('deadline')
        except ConnectionResetError:
            data = b''
        if not data:
            self.eof = True
            raise EOFError('tcp closed')
        self.buf += data

    def _need(self, n, end):
        while len(self.buf) < n:
            self._fill(end)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            hdr = struct.pack('!BB', b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', b0, (0x80 if mask else 0) | 126, n)
        else:
            hdr = struct.pack('!BBQ', b0, (0x80 if mask else 0) | 127, n)
        if mask:
            m = secrets.token_bytes(4)
            payload = bytes(b ^ m[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
                _xor(payload, m)
            hdr += m
        with self.lock:
            try:
                self.sock.sendall(hdr + payload)
            except OSError:
                pass

    def send_text(self, text):
        self.send_frame(1, text.encode('utf-8') if isinstance(text, str) else text)

    def send(self, obj):
        self.send_text(json.dumps(obj))

    def recv_frame(self, end):
        b0, b1 = self._need(2, end)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('!H', self._need(2, end))[0]
        elif n == 127:
            n = struct.unpack('!Q', self._need(8, end))[0]
        if b1 & 0x80:
            raise RuntimeError('server frame is masked')
        return b0 & 0x80, b0 & 0x0f, self._need(n, end)

    def recv(self, seconds=5):
        """The next message as a dict; ping answered; Closed on a close frame."""
        end = deadline(seconds)
        parts = b''
        while True:
            fin, op, data = self.recv_frame(end)
            if op == 9:
                self.send_frame(10, data)
                continue
            if op == 10:
                continue
            if op == 8:
                code = struct.unpack('!H', data[:2])[0] if len(data) >= 2 else None
                self.closed = code
                try:
                    self.send_frame(8, data[:2])
                except OSError:
                    pass
                raise Closed(code, data[2:].decode('utf-8', 'replace'))
            parts += data
            if fin:
                if op not in (0, 1):
                    raise RuntimeError('non-text data frame %d' % op)
                m = json.loads(parts.decode('utf-8'))
                if m.get('type') == 'event' and isinstance(m.get('seq'), int):
                    self.last_seq = max(getattr(self, 'last_seq', 0), m['seq'])
                return m

    def next_of(self, types, seconds=5, skip=('heartbeat_ack',)):
        end = time.monotonic() + seconds * SCALE
        while True:
            m = self.recv(max(0.0, (end - time.monotonic()) / SCALE))
            if m.get('type') in types:
                return m
            if m.get('type') not in skip:
                raise AssertionError('expected %s, got %r' % (types, m))

    def expect_close(self, seconds=5):
        """Reads until the server's close frame: (list of messages, close code)."""
        msgs = []
        try:
            while True:
                m = self.recv(seconds)
                if m.get('type') != 'heartbeat_ack':
                    msgs.append(m)
        except Closed as c:
            return msgs, c.code
        except EOFError:
            return msgs, None

    def quiet(self, seconds):
        """Messages (other than heartbeat_ack) that arrive within `seconds`; the
        window itself is the condition (asserting that nothing comes)."""
        got = []
        end = time.monotonic() + seconds * SCALE
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return got
            try:
                m = self.recv(left / SCALE)
            except TimeoutError:
                return got
            if m.get('type') != 'heartbeat_ack':
                got.append(m)

    def drop(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _xor(payload, m):
    n = len(payload)
    key = (m * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, 'big') ^ int.from_bytes(key, 'big')).to_bytes(n, 'big')


class Beater:
    """Sends a heartbeat every 0.5 s to the clients it holds, as a real client does
    every heartbeat_interval, so that a slow machine never times a member out in the
    middle of a check that is about something else."""

    def __init__(self):
        self.clients = set()
        self.stop = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def add(self, *ws):
        self.clients.update(ws)

    def run(self):
        while not self.stop.wait(0.5):
            for w in list(self.clients):
                if w.closed is None and not w.eof:
                    w.send_frame(1, b'{"type":"heartbeat"}')


BEAT = None


def login_msg(user, room='lobby', token=None, name=None, resume=None, notify=True, **kw):
    m = {'type': 'login', 'v': 1, 'app_id': APP, 'room_id': room,
         'user': {'id': user, 'name': name if name is not None else user.title()},
         'token': token if token is not None else mint(user, room, publish=True),
         'notify_users': notify}
    if resume:
        m['resume'] = resume
    m.update(kw)
    return m


def login(port, user, room='lobby', **kw):
    ws = WS(port)
    ws.send(login_msg(user, room, **kw))
    ok = ws.next_of(('login_ok',))
    ws.ok = ok
    ws.last_seq = ok['seq']
    ws.user = user
    ws.room = room
    return ws


def resume_of(ws):
    return {'session_id': ws.ok['session_id'], 'resume_key': ws.ok['resume_key'],
            'last_seq': ws.last_seq}


def resume_at(port, old, room, user, **changes):
    """A new connection to @port resuming @old's session: (the client, its login_ok)."""
    res = resume_of(old)
    res.update(changes)
    w = WS(port)
    w.send(login_msg(user, room, resume=res))
    ok = w.next_of(('login_ok',))
    w.ok = ok
    w.user = user
    return w, ok


def add_stream(ws, sid, req=1, **fields):
    """stream_add of @sid; returns the answer (stream_add_ok or request_error)."""
    ws.send({'type': 'stream_add', 'req': req, 'stream': dict(fields, id=sid)})
    return ws.next_of(('stream_add_ok', 'request_error'), skip=('heartbeat_ack', 'event'))


def publisher_room(port):
    """A new room where alice saw bob join and add the stream <room>b: (room, alice, bob)."""
    r = room()
    al = login(port, 'alice', r)
    b = login(port, 'bob', r)
    add_stream(b, r + 'b')
    al.next_of(('event',))
    al.next_of(('event',))
    return r, al, b


def expect_kicked(ws, code):
    msgs, close = ws.expect_close()
    kicks = [m for m in msgs if m.get('type') == 'kick_out']
    expect(kicks and kicks[0]['code'] == code and close == 4403, 'kick: %r %r' % (msgs, close))
    return msgs


# ---------------------------------------------------------------- processes

def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


children = []


def read_line(proc, end, want):
    """Waits (with a deadline) for a line of the child's stdout holding `want`."""
    import select
    fd = proc.stdout.fileno()
    buf = b''
    while True:
        for line in buf.split(b'\n')[:-1]:
            if want in line.decode(errors='replace'):
                return line.decode(errors='replace')
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError('%s did not print %r' % (proc.args[0], want))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError('%s exited (%s)' % (proc.args[0], proc.poll()))
            buf += chunk


class Server:
    def __init__(self, *args, tmp=None):
        self.port = free_port()
        self.admin = free_port()
        argv = [SERVER, '--listen', '127.0.0.1:%d' % self.port,
                '--admin-listen', '127.0.0.1:%d' % self.admin,
                '--media-listen', '127.0.0.1:%d' % free_port(),
                '--app-id', APP, '--app-secret', SECRET] + list(args)
        self.log = open(os.path.join(tmp, 'server-%d.log' % self.port), 'wb')
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log)
        children.append(self.proc)
        read_line(self.proc, deadline(10), 'listening on')

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10 * SCALE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Redis:
    def __init__(self, tmp):
        self.port = free_port()
        self.tmp = tmp
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
             '--appendonly', 'no', '--dir', self.tmp], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        children.append(self.proc)
        end = deadline(10)
        while True:
            try:
                s = socket.create_connection(('127.0.0.1', self.port), timeout=1)
                s.sendall(b'PING\r\n')
                if s.recv(16).startswith(b'+PONG'):
                    s.close()
                    return
                s.close()
            except OSError:
                pass
            if time.monotonic() > end:
                raise TimeoutError('redis-server did not answer')
            time.sleep(0.02)  # polling a condition (redis answers PING) with a deadline

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def url(self):
        return 'redis://127.0.0.1:%d' % self.port


def redis_cmd(port, *args, password=None):
    """One command to the probe's redis-server in RESP; the first line of the answer."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5 * SCALE)
    out = b''
    for cmd in ([('AUTH', password)] if password else []) + [args]:
        out = b'*%d\r\n' % len(cmd) + b''.join(b'$%d\r\n%s\r\n' % (len(a.encode()), a.encode()) for a in cmd)
        s.sendall(out)
        line = b''
        while not line.endswith(b'\r\n'):
            c = s.recv(1)
            if not c:
                break
            line += c
    s.close()
    return line.decode().strip()


def wait_until(cond, seconds, what):
    end = deadline(seconds)
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError(what)
        time.sleep(0.02)  # polling a condition with a deadline


def http_post(port, path, body):
    """(status, parsed JSON body or None, head) of one POST."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5 * SCALE)
    s.sendall(b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
              b'Connection: close\r\nContent-Length: %d\r\n\r\n' % (path.encode(), len(body)) + body)
    data = b''
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head, _, rest = data.decode('utf-8', 'replace').partition('\r\n\r\n')
    try:
        doc = json.loads(rest)
    except ValueError:
        doc = None
    return int(head.split(' ')[1]), doc, head


def http_get(port, path):
    s = socket.create_connection(('127.0.0.1', port), timeout=5 * SCALE)
    s.sendall(('GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' % path).encode())
    data = b''
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    return data.decode('latin-1')


# ---------------------------------------------------------------- TAP

results = []


def check(name):
    def wrap(fn):
        results.append((name, fn))
        return fn
    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def error_then_close(ws, code, close, seconds=5):
    msgs, got = ws.expect_close(seconds)
    errs = [m for m in msgs if m.get('type') == 'error']
    expect(errs and errs[0].get('code') == code and isinstance(errs[0].get('message'), str),
           'expected error %d, got %r' % (code, msgs))
    expect(got == close, 'expected close %s after error %d, got %r' % (close, code, got))


def bad_login(port, msg, code, close):
    ws = WS(port)
    ws.send(msg)
    error_then_close(ws, code, close)
    ws.drop()


# ================================================================ single node

class Env:
    pass


E = Env()
room_n = [0]


def room():
    room_n[0] += 1
    return 'r%d' % room_n[0]


@check('login_ok carries every documented field')
def _():
    r = room()
    bob = login(E.one.port, 'bob', r)
    add_stream(bob, r + 'cam', extra='x', node='local')
    tok = mint('alice', r, lifetime=1000)
    exp = json.loads(base64.urlsafe_b64decode(tok.split('.')[0] + '==='))['exp']
    a = login(E.one.port, 'alice', r, token=tok)
    ok = a.ok
    expect(ok['v'] == 1, 'v %r' % ok.get('v'))
    for k, t in (('room_session_id', str), ('session_id', str), ('resume_key', str),
                 ('seq', int), ('users', list), ('streams', list),
                 ('heartbeat_interval', (int, float)), ('heartbeat_timeout', (int, float)),
                 ('session_ttl', (int, float)), ('token_expires_at', int),
                 ('media_nodes', list), ('srt_passphrase', str)):
        expect(isinstance(ok.get(k), t), '%s: %r' % (k, ok.get(k)))
    expect(ok['resumed'] is False, 'resumed %r' % ok.get('resumed'))
    expect(ok['token_expires_at'] == exp, 'token_expires_at %r != %r' % (ok['token_expires_at'], exp))
    expect(ok['heartbeat_interval'] == 1.0 and ok['heartbeat_timeout'] == 90.0 and
           ok['session_ttl'] == 1200.0, 'defaults %r' % ok)
    expect(ok['users'] == [{'id': 'bob', 'name': 'Bob'}], 'users %r' % ok['users'])
    expect(ok['streams'] == [{'id': r + 'cam', 'user_id': 'bob', 'user_name': 'Bob',
                              'node': 'local', 'extra': 'x'}], 'streams %r' % ok['streams'])
    expect('room_services' not in ok, 'room_services on a single node without --room-service-url')
    expect('media_edge' not in ok, 'media_edge without --media-cascade')
    expect(all(isinstance(n.get('id'), str) and n.get('url', '').startswith('srt://')
               for n in ok['media_nodes']) and ok['media_nodes'], 'media_nodes %r' % ok['media_nodes'])
    expect(10 <= len(ok['srt_passphrase']) <= 79, 'passphrase length')
    # the joiner's own ADD is seq + 1, sent to bob and never to alice
    own = bob.next_of(('event',))
    expect(own['kind'] == 'stream' and own['seq'] == ok['seq'], 'bob gets its own stream ADD %r' % own)
    ev = bob.next_of(('event',))
    expect(ev['seq'] == ok['seq'] + 1 and ev['kind'] == 'user' and ev['update'] == 'ADD' and
           ev['users'] == [{'id': 'alice', 'name': 'Alice'}], 'joiner ADD %r' % ev)
    expect(a.quiet(0.3) == [], 'alice got an event about itself')
    # notify_users false: an empty users list
    c = login(E.one.port, 'carol', r, notify=False)
    expect(c.ok['users'] == [], 'users for notify_users false: %r' % c.ok['users'])
    for w in (a, bob, c):
        w.drop()


@check('login: wrong, expired, foreign and future tokens close 4401 with 1003-1006')
def _():
    p = E.one.port
    r = room()
    bad_login(p, login_msg('u', r, token='abc.def'), 1004, 4401)
    bad_login(p, login_msg('u', r, token=mint('u', r, secret='other')), 1004, 4401)
    bad_login(p, login_msg('u', r, token=mint('u', r, lifetime=-100)), 1005, 4401)
    bad_login(p, login_msg('u', r, token=mint('u', r, iat=int(time.time()) + 3600)), 1004, 4401)
    bad_login(p, login_msg('u', r, token=mint('other', r)), 1006, 4401)
    bad_login(p, login_msg('u', r, token=mint('u', 'elsewhere')), 1006, 4401)
    bad_login(p, login_msg('u', r, token=mint('u', r, priv=['publish'])), 1006, 4401)
    m = login_msg('u', r, token=mint('u', r, app='otherapp'))
    bad_login(p, m, 1003, 4401)
    m = login_msg('u', r)
    m['app_id'] = 'otherapp'
    bad_login(p, m, 1003, 4401)
    m = login_msg('u', r)
    del m['token']
    ws = WS(p)
    ws.send(m)
    msgs, code = ws.expect_close()
    expect(code in (4400, 4401) and msgs and msgs[0].get('type') == 'error',
           'login without token: %r %r' % (msgs, code))


@check('tokens: padding refused (1004), claims read as the table says')
def _():
    p = E.one.port
    r = room()
    now = int(time.time())

    def signed(claims, pad=False):
        payload = b64url(json.dumps(claims).encode())
        if pad:
            payload += '=' * (-len(payload) % 4 or 4)
        mac = b64url(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest())
        return payload + '.' + mac + ('=' if pad else '')

    base = {'app': APP, 'uid': 'tk', 'room': r, 'priv': ['login', 'unknown'], 'iat': now, 'exp': now + 60,
            'nonce': 'n'}
    w = login(p, 'tk', r, token=signed(base))  # no "v", an unknown privilege: fine
    w.drop()
    bad_login(p, login_msg('tk', r, token=signed(base, pad=True)), 1004, 4401)
    for k, v in (('nonce', None), ('priv', 'login'), ('streams', 'a'), ('iat', 1.5), ('exp', None)):
        c = dict(base)
        if v is None:
            del c[k]
        else:
            c[k] = v
        bad_login(p, login_msg('tk', r, token=signed(c)), 1004, 4401)
    c = dict(base, x=[[[1]]])  # nesting 4 is allowed in a payload, 5 is not
    login(p, 'tk', r, token=signed(c)).drop()
    bad_login(p, login_msg('tk', r, token=signed(dict(base, x=[[[[1]]]]))), 1004, 4401)


@check('login: ids and names past their limits close 4400 with their codes')
def _():
    p = E.one.port
    r = room()
    m = login_msg('u', r)
    m['app_id'] = 'bad app'
    bad_login(p, m, 1003, 4400)
    bad_login(p, login_msg('u', 'bad room', token=mint('u')), 1007, 4400)
    bad_login(p, login_msg('u', 'x' * 129, token=mint('u')), 1007, 4400)
    bad_login(p, login_msg('u', '', token=mint('u')), 1007, 4400)
    bad_login(p, login_msg('u/x', r, token=mint('u')), 1008, 4400)
    bad_login(p, login_msg('u', r, name='n' * 257), 1008, 4400)
    bad_login(p, login_msg('u', r, name='a\x07b'), 1008, 4400)
    bad_login(p, login_msg('u', r, name='a\x7fb'), 1008, 4400)
    bad_login(p, login_msg('u', r, name='a\u0085b'), 1008, 4400)
    # exactly at the limits: accepted
    long_id = 'i' * 128
    ws = login(p, long_id, 'R' * 128, name='é' * 128)
    expect(ws.ok['resumed'] is False, 'at-limit login')
    ws.drop()
    m = login_msg('u', r)
    m['v'] = 2
    bad_login(p, m, 1013, 4400)


@check('the first message must be a login; unknown types, bad JSON, binary frames')
def _():
    p = E.one.port
    ws = WS(p)
    ws.send({'type': 'heartbeat', 'id': 1})
    msgs, code = ws.expect_close()
    expect(code == 4400 and msgs and msgs[0].get('type') == 'error' and msgs[0].get('code') == 1016,
           'heartbeat before login: %r %r' % (msgs, code))
    ws = WS(p)
    ws.send({'type': 'nonsense'})
    msgs, code = ws.expect_close()
    expect(code == 4400 and msgs and msgs[0].get('code') == 1016, 'unknown type first: %r %r' % (msgs, code))
    r = room()
    cases = [('{"type": "nonsense"}', 1013), ('not json', 1013), ('{"type":"heartbeat"} {}', 1013),
             ('[1,2]', 1013), ('{"type":"heartbeat","id":1} // c', 1013),
             ('{"type":"heartbeat","x":' + '[' * 9 + ']' * 9 + '}', 1013),
             ('{"type":"heartbeat","x":"a\\u0000b"}', 1013),
             ('{"type":"heartbeat","x":"\\ud800"}', 1013),
             ('{"type":"heartbeat","x":9007199254740992}', 1013),
             ('{"type":"heartbeat","x":1e999}', 1013),
             ('{"type":1}', 1013), ('{"id":1}', 1013)]
    for text, code in cases:
        ws = login(p, 'm', r)
        ws.send_text(text)
        msgs, got = ws.expect_close()
        errs = [m for m in msgs if m.get('type') == 'error']
        expect(errs and errs[0]['code'] == code and got == 4400,
               '%r: %r %r' % (text, msgs, got))
        ws.drop()
    # depth 8 is allowed
    ws = login(p, 'm', r)
    ws.send_text('{"type":"heartbeat","id":7,"x":' + '[' * 7 + ']' * 7 + '}')
    a = ws.next_of(('heartbeat_ack',), skip=())
    expect(a['id'] == 7, 'depth 8 heartbeat %r' % a)
    # binary frame
    ws.send_frame(2, b'{"type":"heartbeat"}')
    msgs, got = ws.expect_close()
    expect(got is not None and got != 1000, 'binary frame: %r %r' % (msgs, got))
    E.binary_close = (msgs, got)
    ws.drop()
    # invalid UTF-8
    ws = login(p, 'm', r)
    ws.send_text(b'{"type":"heartbeat","x":"\xff"}')
    msgs, got = ws.expect_close()
    expect(got == 1007, 'invalid UTF-8: %r %r' % (msgs, got))
    ws.drop()


@check('WebSocket framing: ping answered with pong; broken framing closes 1002')
def _():
    p = E.one.port
    w = login(p, 'wf', room())
    w.send_frame(9, b'hello')
    fin, op, data = w.recv_frame(deadline(5))
    expect(op == 10 and data == b'hello', 'pong %r %r' % (op, data))
    w.drop()
    for kw in (dict(opcode=1, payload=b'{}', rsv=4), dict(opcode=3, payload=b'{}'),
               dict(opcode=9, payload=b'x', fin=False), dict(opcode=9, payload=b'x' * 126),
               dict(opcode=0, payload=b'{}'), dict(opcode=1, payload=b'{}', mask=False)):
        w = login(p, 'wf', room())
        w.send_frame(**kw)
        msgs, code = w.expect_close()
        expect(code == 1002 and msgs == [], '%r: %r %r' % (kw, msgs, code))
        w.drop()


@check('frames and messages past 64 KiB close 1009; at 64 KiB they are read')
def _():
    p = E.one.port
    r = room()
    pad = 65536 - len('{"type":"heartbeat","id":1,"x":""}')
    ws = login(p, 'f', r)
    ws.send_text('{"type":"heartbeat","id":1,"x":"' + 'a' * pad + '"}')
    a = ws.next_of(('heartbeat_ack',), skip=())
    expect(a['id'] == 1, 'a 64 KiB frame')
    ws.send_text('{"type":"heartbeat","id":1,"x":"' + 'a' * (pad + 1) + '"}')
    msgs, got = ws.expect_close()
    expect(got == 1009, '64 KiB + 1 frame: %r' % got)
    ws.drop()
    # a message of fragments past 64 KiB (below the guard's byte budget): 1009 too
    for total in (65537, 70000, 82000):
        text = ('{"type":"heartbeat","id":1,"x":"' + 'a' * (total - len('{"type":"heartbeat","id":1,"x":""}')) + '"}').encode()
        for parts in (2, 3):
            ws = login(p, 'f', r)
            k = len(text) // parts + 1
            pieces = [text[i:i + k] for i in range(0, len(text), k)]
            for j, piece in enumerate(pieces):
                ws.send_frame(1 if j == 0 else 0, piece, fin=j == len(pieces) - 1)
            msgs, got = ws.expect_close()
            expect(got == 1009 and not msgs, 'a message of %d bytes in %d fragments: %r %r'
                   % (total, parts, msgs, got))
            ws.drop()
    ws = login(p, 'f', r)
    text = ('{"type":"heartbeat","id":2,"x":"' + 'a' * pad + '"}').encode()
    for i in range(0, len(text), 1000):
        ws.send_frame(1 if i == 0 else 0, text[i:i + 1000], fin=i + 1000 >= len(text))
    a = ws.next_of(('heartbeat_ack',), skip=())
    expect(a['id'] == 2, 'fragmented 64 KiB')
    ws.drop()


@check('heartbeat ids: echoed with seq; bad ones close 4400')
def _():
    p = E.one.port
    r = room()
    ws = login(p, 'h', r)
    for hid in (0, 2 ** 53 - 1, 's' * 64, None):
        ws.send({'type': 'heartbeat', 'id': hid})
        a = ws.next_of(('heartbeat_ack',), skip=())
        expect(a.get('id') == hid and a.get('seq') == ws.ok['seq'] + 1, 'ack %r for %r' % (a, hid))
    ws.send({'type': 'heartbeat'})
    a = ws.next_of(('heartbeat_ack',), skip=())
    expect('id' not in a or a['id'] is None, 'ack without id %r' % a)
    ws.drop()
    for hid in (-1, 1.5, 's' * 65, [1], {'a': 1}, True, 2 ** 53):
        ws = login(p, 'h', r)
        ws.send({'type': 'heartbeat', 'id': hid})
        msgs, got = ws.expect_close()
        expect(got == 4400 and msgs and msgs[-1].get('code') == 1013, 'id %r: %r %r' % (hid, msgs, got))
        ws.drop()


@check('stream_add / stream_delete answers, events with seq, and their errors')
def _():
    p = E.one.port
    r = room()
    sid = r + 'cam'
    bob = login(p, 'bob', r)
    al = login(p, 'alice', r)
    bob.next_of(('event',))
    seq = al.ok['seq'] + 1  # alice's own user ADD
    al.send({'type': 'stream_add', 'req': 3, 'stream': {'id': sid, 'extra': '', 'node': 'local'}})
    m = al.recv()
    expect(m == {'type': 'stream_add_ok', 'req': 3}, 'answer first: %r' % m)
    ev = al.next_of(('event',))
    expect(ev['seq'] == seq + 1 and ev['kind'] == 'stream' and ev['update'] == 'ADD' and
           ev['streams'] == [{'id': sid, 'user_id': 'alice', 'user_name': 'Alice', 'node': 'local',
                              'extra': ''}], 'own stream ADD %r' % ev)
    ev2 = bob.next_of(('event',))
    expect(ev2 == ev, 'bob sees %r, alice %r' % (ev2, ev))
    # idempotent re-add with a new node: accepted
    al.send({'type': 'stream_add', 'req': 4, 'stream': {'id': sid, 'extra': '', 'node': 'local'}})
    expect(al.next_of(('stream_add_ok', 'request_error'))['type'] == 'stream_add_ok', 're-add')
    expect(al.quiet(0.2) == [], 're-add of the same stream: no event')
    # a re-add that changes node: the stream ADD again, with the new node
    al.send({'type': 'stream_add', 'req': 4, 'stream': {'id': sid, 'extra': '', 'node': 'other'}})
    expect(al.next_of(('stream_add_ok', 'request_error'))['type'] == 'stream_add_ok', 're-add')
    ev = al.next_of(('event',))
    expect(ev['seq'] == seq + 2 and ev['update'] == 'ADD' and ev['streams'][0]['node'] == 'other',
           'ADD for the new node %r' % ev)
    expect(bob.next_of(('event',)) == ev, 'bob sees the update')
    # another user's live id: 2003
    e = add_stream(bob, sid, req=5)
    expect(e.get('code') == 2003 and e.get('req') == 5, 'taken: %r' % e)
    # deleting another's or an unknown one: 2004
    bob.send({'type': 'stream_delete', 'req': 6, 'stream_id': sid, 'reason': 'stopped'})
    e = bob.next_of(('request_error', 'stream_delete_ok'), skip=('heartbeat_ack', 'event'))
    expect(e.get('code') == 2004, 'not yours: %r' % e)
    bob.send({'type': 'stream_delete', 'req': 7, 'stream_id': 'nope', 'reason': 'stopped'})
    e = bob.next_of(('request_error', 'stream_delete_ok'), skip=('heartbeat_ack', 'event'))
    expect(e.get('code') == 2004, 'unknown: %r' % e)
    # delete: answer first, then the event with reason
    al.send({'type': 'stream_delete', 'req': 8, 'stream_id': sid, 'reason': 'stopped'})
    m = al.next_of(('stream_delete_ok', 'event'))
    expect(m == {'type': 'stream_delete_ok', 'req': 8}, 'delete answer first: %r' % m)
    ev = al.next_of(('event',))
    expect(ev['update'] == 'DELETE' and ev.get('reason') == 'stopped', 'DELETE %r' % ev)
    # no publish privilege: 2002; token's stream list: 2002
    c = login(p, 'carol', r, token=mint('carol', r))
    e = add_stream(c, 'c1')
    expect(e.get('code') == 2002, 'no publish: %r' % e)
    d = login(p, 'dave', r, token=mint('dave', r, publish=True, streams=['d1']))
    e = add_stream(d, 'd2')
    expect(e.get('code') == 2002, 'outside list: %r' % e)
    # the session's stream limit (--max-streams-per-session 3): 2009, connection stays
    for i in range(3):
        d2 = 'e%s%d' % (r, i)
        expect(add_stream(bob, d2, req=10 + i)['type'] == 'stream_add_ok', 'stream %d' % i)
    e = add_stream(bob, 'e%s9' % r, req=20)
    expect(e.get('code') == 2009 and e.get('req') == 20, 'limit: %r' % e)
    bob.send({'type': 'heartbeat', 'id': 99})
    expect(bob.next_of(('heartbeat_ack',), skip=('event',))['id'] == 99, 'connection stays after 2009')
    for w in (al, c, d):
        w.drop()
    # protocol errors in stream_add close 4400
    for stream, code in (({'id': 'bad id', 'extra': '', 'node': ''}, 2001),
                         ({'id': 'ok1', 'extra': 'x' * 4097, 'node': ''}, 1013),
                         ({'id': 'ok1', 'extra': 1, 'node': ''}, 1013),
                         ({'id': 'ok1', 'extra': '', 'node': 'bad node'}, 1013)):
        w = login(p, 'eve', r)
        w.send({'type': 'stream_add', 'req': 1, 'stream': stream})
        msgs, got = w.expect_close()
        errs = [m for m in msgs if m.get('type') == 'error']
        expect(errs and errs[0]['code'] == code and got == 4400, '%r: %r %r' % (stream, msgs, got))
        w.drop()
    w = login(p, 'eve', r)
    expect(add_stream(w, 'okx', extra='x' * 4096)['type'] == 'stream_add_ok', 'extra of 4096 bytes, no node')
    w.drop()
    bob.drop()


@check('optional members: user.name, notify_users, stream extra/node, delete reason')
def _():
    p = E.one.port
    r = room()
    al = login(p, 'alice', r)
    m = login_msg('bob', r)
    del m['user']['name']
    del m['notify_users']
    b = WS(p)
    b.send(m)
    ok = b.next_of(('login_ok',))
    expect(ok['users'] == [], 'notify_users absent is false: %r' % ok['users'])
    ev = al.next_of(('event',))
    expect(ev['users'] == [{'id': 'bob', 'name': 'bob'}], 'name absent: %r' % ev)
    b.send({'type': 'stream_add', 'req': 1, 'stream': {'id': r + 'o'}})
    expect(b.next_of(('stream_add_ok',))['req'] == 1, 'stream with id only')
    ev = al.next_of(('event',))
    expect(ev['streams'] == [{'id': r + 'o', 'user_id': 'bob', 'user_name': 'bob', 'node': '', 'extra': ''}],
           'absent extra/node: %r' % ev)
    b.send({'type': 'stream_delete', 'req': 2, 'stream_id': r + 'o', 'reason': 'kicked'})
    expect(b.next_of(('stream_delete_ok',), skip=('heartbeat_ack', 'event'))['req'] == 2, 'delete')
    ev = al.next_of(('event',))
    expect(ev['update'] == 'DELETE' and ev['reason'] == 'stopped', 'a client-given reason: %r' % ev)
    m = login_msg('carol', r)
    del m['v']
    bad_login(p, m, 1013, 4400)
    al.drop()
    b.drop()


@check('case 1 resume on the same node: resumed, missed events replayed, others see nothing')
def _():
    p = E.one.port
    r = room()
    al = login(p, 'alice', r)
    bob = login(p, 'bob', r)
    al.next_of(('event',))
    bob.drop()
    add_stream(al, r + 's')
    ev = al.next_of(('event',))
    b2, ok = resume_at(p, bob, r, 'bob')
    expect(ok['resumed'] is True and not ok.get('resync'), 'resumed %r' % ok)
    expect(ok['session_id'] == bob.ok['session_id'] and ok['room_session_id'] == bob.ok['room_session_id'],
           'same session')
    rep = b2.next_of(('event',))
    expect(rep == ev, 'replayed %r, sent %r' % (rep, ev))
    expect(al.quiet(0.3) == [], 'alice saw the resume')
    # a wrong resume key: a fresh login (duplicate: the resumed one is kicked)
    b3 = WS(p)
    bad = resume_of(bob)
    bad['resume_key'] = 'x' + bad['resume_key'][1:]
    b3.send(login_msg('bob', r, resume=bad))
    ok3 = b3.next_of(('login_ok',))
    expect(ok3['resumed'] is False and ok3['session_id'] != bob.ok['session_id'], 'wrong key %r' % ok3)
    k = b2.next_of(('kick_out',), skip=('heartbeat_ack', 'event'))
    expect(k.get('code') == 1010, 'kick %r' % k)
    _, code = b2.expect_close()
    expect(code == 4403, 'kick close %r' % code)
    # the kicked session's resume gets kick_out again
    b4 = WS(p)
    b4.send(login_msg('bob', r, resume={'session_id': ok['session_id'], 'resume_key': ok['resume_key'],
                                         'last_seq': 0}))
    msgs, code = b4.expect_close()
    expect(msgs and msgs[0].get('type') == 'kick_out' and msgs[0].get('code') == 1010 and code == 4403,
           'resume of a kicked session: %r %r' % (msgs, code))
    for w in (al, b3, b4):
        w.drop()


@check('resume older than the backlog gets resync: true with a full snapshot')
def _():
    p = E.one.port
    r = room()
    al = login(p, 'alice', r)
    bob = login(p, 'bob', r)
    bob.drop()
    for i in range(12):  # --event-backlog 8
        add_stream(al, '%ss%d' % (r, i % 3), req=i, extra=str(i))
    b2, ok = resume_at(p, bob, r, 'bob')
    expect(ok['resumed'] is True and ok.get('resync') is True, 'resync %r' % ok)
    expect(len(ok['streams']) == 3 and ok['users'] == [{'id': 'alice', 'name': 'Alice'}], 'snapshot %r' % ok)
    al.drop()
    b2.drop()


@check('a resume whose last_seq is ahead of the room gets resync: true')
def _():
    p = E.one.port
    r = room()
    al = login(p, 'alice', r)
    b = login(p, 'bob', r)
    b.drop()
    w, ok = resume_at(p, b, r, 'bob', last_seq=10 ** 9)
    expect(ok['resumed'] is True and ok.get('resync') is True, 'ahead: %r' % ok)
    al.drop()
    w.drop()


@check('duplicate login: old streams DELETE duplicate_login, kick_out 1010, close 4403')
def _():
    p = E.one.port
    r, al, b1 = publisher_room(p)
    b2 = login(p, 'bob', r)
    expect_kicked(b1, 1010)
    ev = al.next_of(('event',))
    expect(ev['kind'] == 'stream' and ev['update'] == 'DELETE' and ev['reason'] == 'duplicate_login',
           'old stream %r' % ev)
    expect(al.quiet(0.3) == [], 'no user DELETE/ADD on duplicate login')
    expect(b2.ok['streams'] == [] and b2.ok['resumed'] is False, 'new session %r' % b2.ok)
    al.drop()
    b2.drop()


@check('logout: logout_ok, close 1000, user and streams removed at once')
def _():
    p = E.one.port
    r, al, b = publisher_room(p)
    b.send({'type': 'logout'})
    msgs, code = b.expect_close()
    expect([m['type'] for m in msgs if m['type'] != 'event'] == ['logout_ok'] and code == 1000,
           'logout %r %r' % (msgs, code))
    e1 = al.next_of(('event',))
    e2 = al.next_of(('event',))
    expect(e1['kind'] == 'stream' and e1['update'] == 'DELETE' and e1['reason'] == 'logout', 's %r' % e1)
    expect(e2['kind'] == 'user' and e2['update'] == 'DELETE' and e2['seq'] == e1['seq'] + 1, 'u %r' % e2)
    al.drop()


@check('token_renew: new expiry and passphrase; wrong tokens 1004/1005/1006')
def _():
    p = E.one.port
    r = room()
    w = login(p, 'tr', r)
    t = mint('tr', r, lifetime=7200)
    exp = json.loads(base64.urlsafe_b64decode(t.split('.')[0] + '==='))['exp']
    w.send({'type': 'token_renew', 'req': 5, 'token': t})
    a = w.next_of(('token_renew_ok', 'request_error'))
    expect(a.get('type') == 'token_renew_ok' and a.get('req') == 5 and a.get('expires_at') == exp and
           isinstance(a.get('srt_passphrase'), str), 'renew %r' % a)
    for tok, code in ((mint('tr', r, secret='x'), 1004), (mint('tr', r, lifetime=-100), 1005),
                      (mint('zz', r), 1006), (mint('tr', 'other'), 1006)):
        w.send({'type': 'token_renew', 'req': 6, 'token': tok})
        a = w.next_of(('token_renew_ok', 'request_error'))
        expect(a.get('type') == 'request_error' and a.get('code') == code, 'renew %d: %r' % (code, a))
    w.drop()


@check('token expiry: token_will_expire once, then kick_out 1005, streams DELETE kicked, user removed')
def _():
    p = E.one.port
    r = room()
    al = login(p, 'alice', r)
    tok = mint('bob', r, publish=True, lifetime=2)
    exp = json.loads(base64.urlsafe_b64decode(tok.split('.')[0] + '==='))['exp']
    b = login(p, 'bob', r, token=tok)
    b.send({'type': 'stream_add', 'req': 1, 'stream': {'id': r + 'k'}})
    w = b.next_of(('token_will_expire', 'stream_add_ok'))
    if w['type'] == 'stream_add_ok':
        w = b.next_of(('token_will_expire',), skip=('heartbeat_ack', 'event'))
    expect(w['expires_at'] == exp and 0 < w['remaining'] <= 2, 'will_expire %r' % w)
    msgs = expect_kicked(b, 1005)
    expect(not [m for m in msgs if m['type'] == 'token_will_expire'], 'token_will_expire twice')
    expect(time.time() >= exp - 0.1, 'kicked before expiry')
    evs = [al.next_of(('event',)) for _ in range(4)][2:]
    expect(evs[0]['kind'] == 'stream' and evs[0]['update'] == 'DELETE' and evs[0]['reason'] == 'kicked' and
           evs[1]['kind'] == 'user' and evs[1]['update'] == 'DELETE', 'room saw %r' % evs)
    # the session is forgotten: its resume is a fresh login
    b2, ok = resume_at(p, b, r, 'bob')
    expect(ok['resumed'] is False, 'resume after expiry kick %r' % ok)
    al.drop()
    b2.drop()


@check('SIGTERM: reconnect with retry_after, close 1001, exit 0')
def _():
    srv = Server('--login-rate', '0', '--shutdown-retry-after', '0.7', tmp=E.tmp)
    w = login(srv.port, 'x', room())
    srv.proc.send_signal(signal.SIGTERM)
    msgs, code = w.expect_close()
    expect([m['type'] for m in msgs] == ['reconnect'] and msgs[0]['retry_after'] == 0.7 and code == 1001,
           'shutdown: %r %r' % (msgs, code))
    srv.proc.wait(10 * SCALE)
    expect(srv.proc.returncode == 0, 'exit %r' % srv.proc.returncode)


@check('send queue: a client that does not read is closed 4413; its session stays, resumable')
def _():
    srv = Server('--login-rate', '0', '--max-send-queue', '65536', '--max-streams-per-session', '65536',
                 tmp=E.tmp)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5 * SCALE)
    sock.connect(('127.0.0.1', srv.port))
    create = socket.create_connection
    socket.create_connection = lambda *a, **k: sock
    try:
        slow = login(srv.port, 'slow', 'q')
    finally:
        socket.create_connection = create
    pub = login(srv.port, 'pub', 'q')
    closed = False
    end = deadline(20)
    i = 0
    while not closed:  # the condition: the server counted a slow consumer
        for _ in range(50):
            add_stream(pub, 's%d' % i, req=i, extra='x' * 4000)
            i += 1
        closed = 'tether_slow_consumers_total 1' in http_get(srv.admin, '/metrics')
        expect(time.monotonic() < end, 'no 4413 after %d events' % i)
    msgs, code = slow.expect_close(seconds=10)
    expect(code == 4413, 'close %r after %d messages' % (code, len(msgs)))
    expect([m for m in pub.quiet(0.2) if m.get('kind') == 'user'] == [], 'the room saw the slow one go')
    slow.last_seq = max([slow.last_seq] + [m.get('seq', 0) for m in msgs])
    w = WS(srv.port)
    w.send(login_msg('slow', 'q', resume=resume_of(slow)))
    ok = w.next_of(('login_ok',))
    expect(ok['resumed'] is True and ok['session_id'] == slow.ok['session_id'], 'resume %r' % ok.get('resumed'))
    for c in (w, pub):
        c.drop()
    srv.stop()


@check('HTTP: other paths 404, no Server header; admin /healthz')
def _():
    a = http_get(E.one.port, '/nothing')
    expect(a.startswith('HTTP/1.1 404') and '\r\nserver:' not in a.lower(), a[:200])
    h = http_get(E.one.admin, '/healthz')
    expect(h.startswith('HTTP/1.1 200') and h.rstrip().endswith('ok'), h[:200])


@check('after its close frame the server drops the TCP connection 2 s later without an answer')
def _():
    ws = WS(E.one.port)
    ws.send({'type': 'nonsense'})
    end = deadline(5)
    got = None
    while got is None:
        fin, op, data = ws.recv_frame(end)
        if op == 8:
            got = struct.unpack('!H', data[:2])[0]
    t0 = time.monotonic()
    expect(got == 4400, 'close %r' % got)
    try:
        while True:
            ws.recv_frame(deadline(5))
    except EOFError:
        pass
    took = time.monotonic() - t0
    expect(1.5 <= took <= 3.5 * SCALE, 'TCP dropped %.2f s after the close frame' % took)
    ws.drop()


@check('guest tokens: issue, log in play-only, renew as the same guest; refusals with their codes')
def _():
    p = E.one.port
    status, doc, _ = http_post(p, '/v1/guest-token', b'{"room": "lobby"}')
    expect(status == 403 and doc.get('error') == 1020, '%r %r' % (status, doc))
    a = http_get(p, '/v1/guest-token')
    expect(a.startswith('HTTP/1.1 405') and 'allow: post' in a.lower(), a[:300])
    # a public room (--public-room 'pub-*'): a play-only token for a random guest user
    status, doc, head = http_post(p, '/v1/guest-token', b'{"room": "pub-1"}')
    expect(status == 200 and doc['app'] == APP and doc['user'].startswith('guest-') and
           len(doc['user']) == 22 and doc['expires_at'] > time.time() and
           'cache-control: no-store' in head.lower(), '%r %r' % (status, doc))
    claims = json.loads(base64.urlsafe_b64decode(doc['token'].split('.')[0] + '==='))
    expect(claims['uid'] == doc['user'] and claims['room'] == 'pub-1' and claims['priv'] == ['login'] and
           claims['exp'] == doc['expires_at'], 'claims %r' % claims)
    g = login(p, doc['user'], 'pub-1', token=doc['token'])
    expect(add_stream(g, 'gcam').get('code') == 2002, 'a guest publishes')
    g.drop()
    status, again, _ = http_post(p, '/v1/guest-token', json.dumps({'room': 'pub-1', 'token': doc['token']}).encode())
    expect(status == 200 and again['user'] == doc['user'], 'renewal %r %r' % (status, again))
    for body, want in ((json.dumps({'room': 'pub-1', 'token': mint('alice', 'pub-1')}).encode(), (403, 1006)),
                       (json.dumps({'room': 'pub-1', 'token': mint('guest-00', 'pub-1', publish=True)}).encode(),
                        (403, 1006)),
                       (json.dumps({'room': 'pub-1', 'token': mint('guest-00', 'pub-1', lifetime=-100)}).encode(),
                        (403, 1005)),
                       (json.dumps({'room': 'pub-1', 'token': 'x.y'}).encode(), (403, 1004)),
                       (json.dumps({'room': 'pub-2', 'token': doc['token']}).encode(), (403, 1006)),
                       (b'{"room": "bad room"}', (400, 1007)), (b'{"room": 5}', (400, 1013)),
                       (b'{"room": "pub-1", "x": "' + b'a' * 4100 + b'"}', (400, 1013)), (b'', (400, 1013))):
        status, doc2, _ = http_post(p, '/v1/guest-token', body)
        expect((status, (doc2 or {}).get('error')) == want, '%r: %r %r' % (body[:60], status, doc2))


@check('TLS: wss login with the server\'s certificate; plain ws and stalled handshakes cost only their own connection')
def _():
    crt, key = os.path.join(E.tmp, 'tls.pem'), os.path.join(E.tmp, 'tls.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                    '-nodes', '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=127.0.0.1',
                    '-addext', 'subjectAltName=IP:127.0.0.1'], check=True, capture_output=True)
    srv = Server('--login-rate', '0', '--tls-cert', crt, '--tls-key', key, '--request-timeout', '1', tmp=E.tmp)
    ctx = ssl.create_default_context(cafile=crt)
    w = WS(srv.port, tls=ctx)
    w.send(login_msg('t', 'tls'))
    expect(w.next_of(('login_ok',))['resumed'] is False, 'wss login')
    # a plain WebSocket client to the TLS port fails, alone
    try:
        WS(srv.port)
        expect(False, 'plain ws upgraded on a TLS port')
    except (RuntimeError, EOFError, TimeoutError, OSError):
        pass
    # a TCP connection that never starts its handshake is closed at the request timeout
    s = socket.create_connection(('127.0.0.1', srv.port))
    s.settimeout(5 * SCALE)
    t0 = time.monotonic()
    expect(s.recv(10) == b'' and time.monotonic() - t0 >= 0.9, 'stalled handshake')
    s.close()
    # a client that does not trust the certificate fails its handshake
    try:
        WS(srv.port, tls=ssl.create_default_context())
        expect(False, 'an untrusted certificate was accepted')
    except ssl.SSLError:
        pass
    w.send({'type': 'heartbeat', 'id': 3})
    expect(w.next_of(('heartbeat_ack',), skip=())['id'] == 3, 'the wss session is unharmed')
    expect(http_get(srv.admin, '/healthz').startswith('HTTP/1.1 200'), 'admin stays plain HTTP')
    w.drop()
    srv.stop()


@check('limits server: request timeout and 64 KiB of headers close the TCP connection, no answer')
def _():
    p = E.lim.port
    s = socket.create_connection(('127.0.0.1', p))
    s.settimeout(5 * SCALE)
    t0 = time.monotonic()
    expect(s.recv(100) == b'' and 0.9 <= time.monotonic() - t0, 'idle connection')
    s.close()
    s = socket.create_connection(('127.0.0.1', p))
    s.settimeout(5 * SCALE)
    try:
        s.sendall(b'GET /ws HTTP/1.1\r\nHost: x\r\nX-A: ' + b'a' * 70000 + b'\r\n\r\n')
        got = s.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b''
    expect(got == b'', 'answer to 70 KB of headers: %r' % got)
    s.close()


@check('limits server: login grace 4408, login rate 4429, connections per address')
def _():
    p = E.lim.port
    ws = WS(p)
    t0 = time.monotonic()
    error_then_close(ws, 1002, 4408, seconds=5)
    expect(time.monotonic() - t0 >= 0.9, 'grace too short')
    ws.drop()
    # --login-burst 3 (the grace connection above drew nothing); the 4th+ at once: 1009 4429
    codes = []
    for i in range(6):
        w = WS(p)
        w.send(login_msg('rl%d' % i, 'rate'))
        try:
            m = w.recv()
            codes.append(m.get('type') if m.get('type') == 'login_ok' else (m.get('code'), w.expect_close()[1]))
        except Closed as c:
            codes.append(('closed', c.code))
        w.drop()
    expect(codes[:3] == ['login_ok'] * 3 and (1009, 4429) in codes[3:], 'rate %r' % codes)
    # --max-connections-per-address 4: the 5th is closed at accept
    socks = [socket.create_connection(('127.0.0.1', p)) for _ in range(4)]
    extra = socket.create_connection(('127.0.0.1', p))
    extra.settimeout(5 * SCALE)
    try:
        extra.sendall(b'GET /ws HTTP/1.1\r\nHost: x\r\n\r\n')
        got = extra.recv(100)
    except (ConnectionResetError, BrokenPipeError):
        got = b''
    expect(got == b'', 'connection 5 got %r' % got)
    for s in socks + [extra]:
        s.close()


@check('heartbeat timeout: a silent member is removed, streams first, reason heartbeat_timeout')
def _():
    p = E.hb.port
    r, al, b = publisher_room(p)
    expect(b.ok['heartbeat_timeout'] == 1.5, 'heartbeat_timeout %r' % b.ok['heartbeat_timeout'])
    b.drop()
    t0 = time.monotonic()
    end = deadline(6)
    evs = []
    while len(evs) < 2:
        al.send({'type': 'heartbeat', 'id': 1})
        try:
            m = al.next_of(('event',), seconds=0.5)
            evs.append(m)
        except TimeoutError:
            pass
        expect(time.monotonic() < end, 'no DELETE within the timeout')
    expect(evs[0]['kind'] == 'stream' and evs[0]['reason'] == 'heartbeat_timeout' and
           evs[1]['kind'] == 'user' and evs[1]['update'] == 'DELETE', 'DELETEs %r' % evs)
    expect(time.monotonic() - t0 >= 1.4, 'removed too early')
    # its resume is now a new session (case 2): resumed false
    b2, ok = resume_at(p, b, r, 'bob')
    expect(ok['resumed'] is False and ok['session_id'] != b.ok['session_id'], 'case 2 %r' % ok)
    ev = al.next_of(('event',))
    expect(ev['update'] == 'ADD' and ev['kind'] == 'user', 'case 2 ADD %r' % ev)
    # a member that keeps sending heartbeats is not removed
    al.drop()
    b2.drop()


@check('room_services with --room-service-url, in order')
def _():
    w = login(E.hb.port, 'rs', room())
    expect(w.ok.get('room_services') == ['ws://127.0.0.1:1/ws', 'ws://127.0.0.1:2/ws'],
           'room_services %r' % w.ok.get('room_services'))
    w.drop()


# ================================================================ cluster

def cluster_node(name):
    return Server('--redis', E.redis.url(), '--node-id', name, '--node-beat', '0.2',
                  '--node-timeout', '0.6', '--heartbeat-timeout', '3', '--login-rate', '0',
                  '--event-backlog', '32', '--event-backlog-bytes', '20000', tmp=E.tmp)


@check('cluster: a member gone silent is removed once after heartbeat_timeout, same seq everywhere (case 2)')
def _():
    n0, n1, n2 = E.nodes
    r = room()
    x = login(n0.port, 'xavier', r)
    y = login(n1.port, 'yves', r)
    z = login(n2.port, 'zoe', r)
    add_stream(z, r + 'z')
    z.drop()
    BEAT.add(x, y)
    t0 = time.monotonic()
    seen = {x: [], y: []}
    end = deadline(8)
    while not all(any(m.get('kind') == 'user' and m.get('update') == 'DELETE' for m in v) for v in seen.values()):
        expect(time.monotonic() < end, 'no DELETE: %r' % seen)
        for w in (x, y):
            w.send({'type': 'heartbeat', 'id': 1})
            seen[w] += [m for m in w.quiet(0.1) if m.get('update') == 'DELETE']
    took = time.monotonic() - t0
    for w in (x, y):  # a second removal would come within a few node beats (0.2 s)
        w.send({'type': 'heartbeat', 'id': 1})
        seen[w] += [m for m in w.quiet(0.6 / SCALE) if m.get('update') == 'DELETE']
    expect(seen[x] == seen[y] and len(seen[x]) == 2, 'DELETEs differ or repeat: %r' % seen)
    expect(seen[x][0]['kind'] == 'stream' and seen[x][0]['reason'] == 'heartbeat_timeout' and
           seen[x][1]['kind'] == 'user' and seen[x][1]['seq'] == seen[x][0]['seq'] + 1, 'order %r' % seen[x])
    expect(took >= 2.5, 'removed %.2f s after the cut, before heartbeat_timeout (3 s)' % took)
    x.drop()
    y.drop()


@check('cluster: room_services lists the live nodes, this node first; same seq everywhere')
def _():
    n0, n1, n2 = E.nodes
    r = room()
    urls = ['ws://127.0.0.1:%d/ws' % n.port for n in E.nodes]
    a = login(n0.port, 'alice', r)
    b = login(n1.port, 'bob', r)
    c = login(n2.port, 'carol', r)
    for w, n in ((a, n0), (b, n1), (c, n2)):
        rs = w.ok.get('room_services')
        expect(rs and rs[0] == 'ws://127.0.0.1:%d/ws' % n.port and sorted(rs) == sorted(urls),
               'room_services %r' % rs)
    expect(c.ok['users'] == [{'id': 'alice', 'name': 'Alice'}, {'id': 'bob', 'name': 'Bob'}],
           'cross-node snapshot %r' % c.ok['users'])
    expect(all(isinstance(m.get('id'), str) for m in c.ok['media_nodes']) and
           c.ok['media_nodes'][0]['id'] == 'n2', 'own media node first %r' % c.ok['media_nodes'])
    b.send({'type': 'stream_add', 'req': 1, 'stream': {'id': r + 'x', 'extra': '', 'node': 'n1'}})
    expect(b.next_of(('stream_add_ok',), skip=('heartbeat_ack', 'event'))['req'] == 1, 'add ok')
    got = []
    for w in (a, b, c):
        evs = []
        while not evs or evs[-1]['kind'] != 'stream':
            evs.append(w.next_of(('event',)))
        got.append(evs[-1])
    expect(got[0] == got[1] == got[2], 'stream ADD differs %r' % got)
    E.c = (r, a, b, c)
    BEAT.add(*E.c[1:])


@check('cluster: event-backlog-bytes bounds a replay, as on one node')
def _():
    n0 = E.nodes[0]
    for port in (n0.port, E.one.port):
        r = room()
        a = login(port, 'alice', r)
        b = login(port, 'bob', r)
        c = login(port, 'carol', r)
        b.drop()
        c.drop()
        # 4 KB of events: within --event-backlog-bytes 20000, replayed
        add_stream(a, r + '0', req=0, extra='y' * 4000)
        wb, ok = resume_at(port, b, r, 'bob')
        expect(ok['resumed'] is True and ok.get('resync') is None, '%d: %r' % (port, ok.get('resync')))
        ev = wb.next_of(('event',))
        while ev['kind'] == 'user':  # carol's ADD came after bob's login_ok
            ev = wb.next_of(('event',))
        expect(ev['streams'][0]['id'] == r + '0', '%d: replay %r' % (port, ev))
        for i in range(1, 6):  # 24 KB in all: past it, within the counts (8; 3 streams)
            add_stream(a, '%s%d' % (r, i % 3), req=i, extra='%d' % i + 'y' * 4000)
        wc, ok = resume_at(port, c, r, 'carol')
        expect(ok['resumed'] is True and ok.get('resync') is True,
               '%s: %r' % ('cluster' if port == n0.port else 'one node', ok.get('resync')))
        for w in (a, wb, wc):
            w.drop()


@check('cluster: what is sent before login_ok is answered after it; past 64 messages, 1013/4400')
def _():
    n0 = E.nodes[0]
    r = room()
    ws = WS(n0.port)
    flood = WS(n0.port)
    E.redis.proc.send_signal(signal.SIGSTOP)
    try:
        ws.send(login_msg('early', r))
        flood.send(login_msg('flood', r))
        # the logins are in: the node awaits Redis (stopped) for them; no answer can come
        expect(ws.quiet(0.2) == [], 'an answer while Redis is stopped')
        ws.send({'type': 'stream_add', 'req': 1, 'stream': {'id': r + 'e'}})
        ws.send({'type': 'heartbeat', 'id': 1})
        for i in range(65):
            flood.send({'type': 'heartbeat', 'id': i})
        msgs, code = flood.expect_close()
    finally:
        E.redis.proc.send_signal(signal.SIGCONT)
    errs = [m for m in msgs if m.get('type') == 'error']
    expect(errs and errs[0]['code'] == 1013 and code == 4400, 'flood: %r %r' % (msgs, code))
    ws.next_of(('login_ok',), skip=())
    got = set()
    while got != {'stream_add_ok', 'heartbeat_ack'}:
        m = ws.next_of(('stream_add_ok', 'heartbeat_ack'), skip=('event',))
        expect(m.get('req', m.get('id')) == 1, 'answer %r' % m)
        got.add(m['type'])
    ws.drop()
    flood.drop()


@check('cluster: kill -9 of a node: case 1 on another node (replay from Redis, unseen), case 2 removed once')
def _():
    r, a, b, c = E.c
    n0, n1, n2 = E.nodes
    # dave is on n1 too, with a stream, and will not come back (case 2 after a node death)
    dave = login(n1.port, 'dave', r)
    add_stream(dave, r + 'd')
    for w in (a, c):
        w.next_of(('event',))
        w.next_of(('event',))
    # bob is on n1; kill it, alice adds a stream meanwhile, bob resumes on n2
    n1.kill9()
    killed = time.monotonic()
    b.drop()
    add_stream(a, r + 'y', req=2, node='n0')
    ev = a.next_of(('event',))
    expect(c.next_of(('event',)) == ev, 'carol on n2 sees alice\'s ADD')
    b2, ok = resume_at(n2.port, b, r, 'bob', last_seq=ev['seq'] - 1)
    expect(ok['resumed'] is True and not ok.get('resync') and ok['session_id'] == b.ok['session_id'],
           'resume on n2 %r' % ok)
    expect(ok.get('room_services', [None])[0] == 'ws://127.0.0.1:%d/ws' % n2.port, 'n2 first')
    rep = b2.next_of(('event',))
    expect(rep == ev, 'replayed %r vs %r' % (rep, ev))
    # past the heartbeat timeout (3 s), others see dave removed, once, by one survivor,
    # and nothing of bob. The server's own clocks: heartbeat_timeout + node-timeout
    # (0.6 s) after the kill, and a margin; not scaled, since what must pass is the
    # server's time (but the DELETEs may take longer on a loaded machine)
    end = killed + 4.2
    late = deadline(10)
    seen = {a: [], c: []}
    while time.monotonic() < end or any(len(v) < 2 for v in seen.values()):
        expect(time.monotonic() < late, 'dave not removed: %r' % seen)
        for w in (a, c, b2):
            w.send({'type': 'heartbeat', 'id': 1})
        seen[a] += a.quiet(0.3)
        seen[c] += c.quiet(0.1)
    expect(seen[a] == seen[c], 'the survivors saw different things: %r' % seen)
    expect([(m['kind'], m['update'], m.get('reason')) for m in seen[a]] ==
           [('stream', 'DELETE', 'heartbeat_timeout'), ('user', 'DELETE', None)] and
           seen[a][0]['streams'][0]['user_id'] == 'dave' and seen[a][1]['users'][0]['id'] == 'dave' and
           seen[a][1]['seq'] == seen[a][0]['seq'] + 1, 'others saw %r' % seen[a])
    dave.drop()
    b.ok = ok
    E.c = (r, a, b2, c)
    BEAT.add(*E.c[1:])


@check('cluster: the dead node is dropped from room_services')
def _():
    n0, n1, n2 = E.nodes
    w = login(n0.port, 'rsx', room())
    expect('ws://127.0.0.1:%d/ws' % n1.port not in w.ok.get('room_services', []),
           'dead node listed %r' % w.ok.get('room_services'))
    w.drop()


@check('cluster: duplicate login on another node kicks the old session')
def _():
    r, a, b, c = E.c
    n0 = E.nodes[0]
    b3 = login(n0.port, 'bob', r)
    expect_kicked(b, 1010)
    ev = a.next_of(('event',))
    expect(ev['kind'] == 'stream' and ev['reason'] == 'duplicate_login', 'dup %r' % ev)
    E.c = (r, a, b3, c)
    BEAT.add(*E.c[1:])


@check('cluster: a resume with a wrong key on another node is a fresh login (a duplicate)')
def _():
    r, a, b, c = E.c
    n2 = E.nodes[2]
    bad = resume_of(b)
    bad['resume_key'] = ('0' if bad['resume_key'][0] != '0' else '1') + bad['resume_key'][1:]
    w = WS(n2.port)
    w.send(login_msg('bob', r, resume=bad))
    ok = w.next_of(('login_ok',))
    expect(ok['resumed'] is False and ok['session_id'] != b.ok['session_id'], 'wrong key %r' % ok)
    expect_kicked(b, 1010)
    w.ok = ok
    w.user = 'bob'
    w.last_seq = ok['seq']
    E.c = (r, a, w, c)
    BEAT.add(*E.c[1:])


@check('cluster: Redis refusing the nodes (data kept): logins 1021; a logout is answered, its DELETE sent once when back')
def _():
    r, a, b, c = E.c
    n0, n2 = E.nodes[0], E.nodes[2]
    erin = login(n2.port, 'erin', r)
    for w in (a, b, c):  # up to erin's ADD
        end = deadline(5)
        while w.next_of(('event',)).get('users') != [{'id': 'erin', 'name': 'Erin'}]:
            expect(time.monotonic() < end, 'no ADD of erin')
    # Redis asks for a password the nodes do not have, and drops their connections
    expect(redis_cmd(E.redis.port, 'CONFIG', 'SET', 'requirepass', 'probe-pw') == '+OK', 'requirepass')
    redis_cmd(E.redis.port, 'CLIENT', 'KILL', 'TYPE', 'normal', password='probe-pw')
    redis_cmd(E.redis.port, 'CLIENT', 'KILL', 'TYPE', 'pubsub', password='probe-pw')
    end = deadline(10)
    while True:
        w = WS(n0.port)
        w.send(login_msg('late', r))
        m = w.recv()
        w.drop()
        if m.get('type') == 'error':
            expect(m['code'] == 1021, 'refusal %r' % m)
            break
        expect(time.monotonic() < end, 'n0 still logs in')
    erin.send({'type': 'logout'})
    msgs, code = erin.expect_close()
    expect([m['type'] for m in msgs] == ['logout_ok'] and code == 1000, 'logout %r %r' % (msgs, code))
    expect(redis_cmd(E.redis.port, 'CONFIG', 'SET', 'requirepass', '', password='probe-pw') == '+OK', 'reset')
    got = {}
    for w in (a, b, c):
        got[w] = w.next_of(('event',), seconds=10)
        expect(got[w]['kind'] == 'user' and got[w]['update'] == 'DELETE' and got[w]['users'][0]['id'] == 'erin',
               'after the outage %r' % got[w])
    expect(got[a] == got[b] == got[c], 'the nodes differ: %r' % list(got.values()))
    expect(a.quiet(0.5) + b.quiet(0.1) == [], 'more after the DELETE')


@check('cluster: SIGTERM of a node: reconnect, then case 1 on another node, unseen')
def _():
    r, a, b, c = E.c
    n0, n2 = E.nodes[0], E.nodes[2]
    for w in (a, b, c):  # read what came so far: the check below wants silence
        w.quiet(0.1)
    a.last_seq = max([a.last_seq] + [m.get('seq', 0) for m in a.quiet(0.1)])
    n0.proc.send_signal(signal.SIGTERM)
    msgs, code = a.expect_close()
    rec = [m for m in msgs if m['type'] == 'reconnect']
    expect(rec and isinstance(rec[0].get('retry_after'), (int, float)) and code == 1001,
           'shutdown %r %r' % (msgs, code))
    for m in msgs:
        if m['type'] == 'event':
            a.last_seq = m['seq']
    a2, ok = resume_at(n2.port, a, r, 'alice')
    expect(ok['resumed'] is True and ok['session_id'] == a.ok['session_id'], 'resume %r' % ok)
    expect(b.quiet(0.3) + c.quiet(0.1) == [], 'others saw the move')
    n0.proc.wait(10 * SCALE)
    expect(n0.proc.returncode == 0, 'node exit %r' % n0.proc.returncode)
    a2.ok = ok
    a2.user = 'alice'
    a2.last_seq = ok['seq']
    E.c = (r, a2, b, c)
    BEAT.add(*E.c[1:])


@check('cluster: 64 stream requests await Redis at most; the 65th gets 1009 at once')
def _():
    r, a, b, c = E.c
    E.redis.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(65):
            a.send({'type': 'stream_add', 'req': 100 + i, 'stream': {'id': '%sp%d' % (r, i)}})
        m = a.next_of(('request_error', 'stream_add_ok'), seconds=1, skip=('heartbeat_ack', 'event'))
    finally:
        E.redis.proc.send_signal(signal.SIGCONT)
    expect(m.get('type') == 'request_error' and m.get('code') == 1009 and m.get('req') == 164,
           '65th request: %r' % m)
    reqs = set()
    while len(reqs) < 64:
        m = a.next_of(('request_error', 'stream_add_ok'), skip=('heartbeat_ack', 'event'))
        expect(m['type'] == 'stream_add_ok' or m.get('code') == 2009, 'answer %r' % m)
        reqs.add(m['req'])
    expect(reqs == set(range(100, 164)), 'answers %r' % sorted(reqs))
    for w in (a, b, c):
        w.quiet(0.2)


@check('cluster: Redis down: login 1021 close 4503, stream requests 1021, members stay, logout answered')
def _():
    r, a, b, c = E.c
    n0, n1, n2 = E.nodes
    E.redis.kill9()
    # a login refused with 1021/4503 within a deadline (the node notices the loss)
    end = deadline(10)
    while True:
        w = WS(n2.port)
        w.send(login_msg('late', r))
        try:
            m = w.recv()
        except Closed as cl:
            m = {'closed': cl.code}
        if m.get('type') == 'error':
            expect(m.get('code') == 1021, 'error %r' % m)
            _, code = w.expect_close()
            expect(code == 4503, 'close %r' % code)
            w.drop()
            break
        w.drop()
        expect(time.monotonic() < end, 'login not refused: %r' % m)
    resume = resume_of(c)
    e = add_stream(a, r + 'z', req=9)
    expect(e.get('code') == 1021 and e.get('req') == 9, 'stream_add %r' % e)
    a.send({'type': 'stream_delete', 'req': 10, 'stream_id': r + 'y', 'reason': 'stopped'})
    e = a.next_of(('request_error', 'stream_delete_ok'), skip=('heartbeat_ack', 'event'))
    expect(e.get('code') == 1021 and e.get('req') == 10, 'stream_delete %r' % e)
    a.send({'type': 'heartbeat', 'id': 4})
    end = deadline(5)
    while a.next_of(('heartbeat_ack',), skip=('event',)).get('id') != 4:
        expect(time.monotonic() < end, 'heartbeat 4 not answered')
    # a resume during the outage is refused the same way
    w = WS(n2.port)
    c.drop()
    w.send(login_msg('carol', r, resume=resume))
    error_then_close(w, 1021, 4503)
    w.drop()
    # a logout is answered and closes 1000 (its removal waits for Redis)
    b.send({'type': 'logout'})
    msgs, code = b.expect_close()
    expect([m['type'] for m in msgs] == ['logout_ok'] and code == 1000, 'logout %r %r' % (msgs, code))


@check('cluster: Redis back empty: reconnect (retry_after 0), 1001, resume resync; the logged out stays out')
def _():
    r, a, b, c = E.c
    n2 = E.nodes[2]
    E.redis.start()
    for w in (a,):
        msgs, code = w.expect_close(seconds=10)
        rec = [m for m in msgs if m.get('type') == 'reconnect']
        expect(rec and rec[0]['retry_after'] == 0 and code == 1001, '%s: %r %r' % (w.user, msgs, code))
        w.last_seq = max([w.last_seq] + [m.get('seq', 0) for m in msgs])
    x, ok = resume_at(n2.port, a, r, 'alice')
    expect(ok['resumed'] is True and ok.get('resync') is True and
           ok['room_session_id'] != a.ok['room_session_id'], 'resume %r' % ok)
    # carol's connection is gone but her session is within the heartbeat timeout: put back
    # (unless a loaded machine let her time out first); bob, who logged out, is not
    ids = [u['id'] for u in ok['users']]
    expect(ids in (['carol'], []), 'users put back %r' % ok['users'])
    x.drop()


# ================================================================ main

def main():
    if not os.access(SERVER, os.X_OK):
        print('1..0 # SKIP no tether-server at %s' % SERVER)
        return 0
    E.tmp = tempfile.mkdtemp(prefix='tether-probe-')
    want = sys.argv[1:]
    selected = [(n, f) for n, f in results if not want or any(w in n for w in want)]
    print('1..%d' % len(selected), flush=True)
    failed = 0
    try:
        E.one = Server('--login-rate', '0', '--max-streams-per-session', '3', '--token-skew', '0',
                       '--event-backlog', '8', '--event-backlog-bytes', '20000', '--public-room', 'pub-*',
                       tmp=E.tmp)
        E.lim = Server('--login-grace', '1', '--login-rate', '0.001', '--login-burst', '3', '--request-timeout', '1',
                       '--max-connections-per-address', '4', tmp=E.tmp)
        E.hb = Server('--heartbeat-timeout', '1.5', '--login-rate', '0',
                      '--room-service-url', 'ws://127.0.0.1:1/ws',
                      '--room-service-url', 'ws://127.0.0.1:2/ws', tmp=E.tmp)
        cluster_started = False
        for i, (name, fn) in enumerate(selected, 1):
            if name.startswith('cluster') and not cluster_started:
                global BEAT
                BEAT = Beater()
                E.redis = Redis(E.tmp)
                E.nodes = [cluster_node('n%d' % k) for k in range(3)]
                for n in E.nodes:  # each node knows the others
                    wait_until(lambda: len(login(n.port, 'probe', 'rsprobe').ok.get('room_services', [])) == 3,
                               10, 'all three nodes in room_services')
                cluster_started = True
            t0 = time.monotonic()
            try:
                fn()
                print('ok %d - %s (%.1f s)' % (i, name, time.monotonic() - t0), flush=True)
            except Exception as e:  # noqa: a check's failure, reported as TAP
                failed += 1
                print('not ok %d - %s' % (i, name), flush=True)
                import traceback
                where = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__]
                if where:
                    print('# at lines %s' % ' '.join(str(f.lineno) for f in where), flush=True)
                for line in ('%s: %s' % (type(e).__name__, e)).splitlines():
                    print('# ' + line[:2000], flush=True)
    finally:
        for p in children:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get('PROBE_KEEP_LOGS'):
            print('# logs in ' + E.tmp)
        else:
            shutil.rmtree(E.tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
