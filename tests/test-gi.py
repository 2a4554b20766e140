#!/usr/bin/python3
# test-gi.py: libtether from Python through GObject Introspection (TAP)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Run by meson (suite 'gi') with /usr/bin/python3 (python3-gi), GI_TYPELIB_PATH and
# LD_LIBRARY_PATH at the build's src/tether, TETHER_SERVER at the build's tether-server
# and TETHER_GIR at the build's Tether-1.gir. By hand:
#
#   meson test -C _build --suite gi --print-errorlogs
#
# 1. starts tether-server on a free loopback port and reads its URL from stdout;
# 2. a viewer Tether.Engine logs into a room with a token minted by Tether.token_mint;
# 3. a second Engine, the host, logs in and adds a stream;
# 4. the viewer's Tether.Room::stream-update delivers the ADD, within a deadline.
# Then it checks that libtether-1.so exports only the public API and that the GIR
# holds nothing of the internal modules.

import os
import re
import shutil
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Gio', '2.0')
gi.require_version('Tether', '1')
from gi.repository import GLib, Gio, Tether  # noqa: E402

APP_ID = 'test-app'
SECRET = 'test-secret'
ROOM = 'lobby'
STREAM = 'cam'
# Deadlines stretch on a loaded machine, as in the C tests (tests/support).
SCALE = float(os.environ.get('TETHER_TEST_TIMEOUT_SCALE', '1') or 1)
DEADLINE_S = 20 * SCALE

# Modules that are internal to libtether: nothing of theirs may be exported or in the GIR.
# (TetherMediaSession and tether_media_init() are public; the rest of tether_media_ is not.)
INTERNAL = re.compile(r'^_|^tether_(protocol|timeout|srt_link|json|room_store|message)_'
                      r'|^tether_media_(?!session_|init$)')

# What ld defines in every shared library.
LINKER_SYMBOLS = {'_edata', '_end', '__bss_start', '_init', '_fini'}

results = []


def report(ok, name, detail=''):
    results.append(ok)
    print(f'{"ok" if ok else "not ok"} {len(results)} - {name}', flush=True)
    if detail and not ok:
        for line in str(detail).splitlines():
            print(f'# {line}', flush=True)


def login(engine, server_url, room_id, user_id, token):
    """Logs into a room through a Tether.LoginOptions."""
    options = Tether.LoginOptions(server_url=server_url, app_id=APP_ID, room_id=room_id,
                                  user_id=user_id, user_name=user_id.capitalize(), token=token,
                                  notify_users=True)
    return engine.login_room(options)


def mint(user_id, privileges):
    return Tether.token_mint(SECRET, APP_ID, user_id, ROOM, privileges, None,
                             int(time.time()), 3600)


def run_until(loop, what):
    """Runs @loop until a handler quits it or the deadline passes."""
    timed_out = []

    def on_deadline():
        timed_out.append(True)
        loop.quit()
        return GLib.SOURCE_REMOVE

    source = GLib.timeout_add(int(DEADLINE_S * 1000), on_deadline)
    loop.run()
    if timed_out:
        raise TimeoutError(f'{what} did not happen within {DEADLINE_S:.0f} s')
    GLib.source_remove(source)


def start_server(loop):
    """tether-server on 127.0.0.1, port 0: returns (process, its ws:// URL)."""
    program = os.environ['TETHER_SERVER']
    proc = Gio.Subprocess.new([program, '--app-id', APP_ID, '--app-secret', SECRET,
                               '--listen', '127.0.0.1:0', '--no-media'],
                              Gio.SubprocessFlags.STDOUT_PIPE)
    out = Gio.DataInputStream.new(proc.get_stdout_pipe())
    found = {}

    def on_line(stream, result):
        line, _ = stream.read_line_finish_utf8(result)
        if line is None:
            found['error'] = 'tether-server exited before it listened'
            loop.quit()
        elif line.startswith('listening on '):
            found['url'] = line.split()[-1]
            loop.quit()
        else:
            stream.read_line_async(GLib.PRIORITY_DEFAULT, None, on_line)

    out.read_line_async(GLib.PRIORITY_DEFAULT, None, on_line)
    run_until(loop, 'tether-server listening')
    if 'url' not in found:
        raise RuntimeError(found.get('error'))
    # Keep reading so the server never blocks on a full pipe.
    out.read_line_async(GLib.PRIORITY_DEFAULT, None, lambda s, r: None)
    proc.tether_stdout = out
    return proc, found['url']


def wait_logined(loop, room, who):
    states = []

    def on_state(room_, state, error_code, extended_data):
        states.append((state, error_code))
        if state != Tether.RoomState.LOGINING:
            loop.quit()

    handler = room.connect('state-changed', on_state)
    if room.get_state() != Tether.RoomState.LOGINED:
        run_until(loop, f'{who} LOGINED')
    room.disconnect(handler)
    if room.get_state() != Tether.RoomState.LOGINED:
        raise RuntimeError(f'{who} login ended in {states}')


def test_stream_add(loop, url):
    viewer_engine = Tether.Engine.new()
    host_engine = Tether.Engine.new()
    viewer = login(viewer_engine, url, ROOM, 'viewer', mint('viewer', Tether.Privilege.LOGIN))
    report(isinstance(viewer, Tether.Room), 'Engine.login_room returns a Tether.Room')
    wait_logined(loop, viewer, 'viewer')
    report(True, 'the viewer is LOGINED')

    seen = {'users': set(), 'streams': set(), 'added': None}

    def check_done():
        # The viewer's ADD may come before or after the host's own answer.
        if STREAM in seen['streams'] and seen['added'] is not None:
            loop.quit()

    def ids(items):
        # The signals' (element-type ...) makes the GPtrArray a list of Tether objects.
        assert isinstance(items, list), type(items)
        return {item.get_id() for item in items}

    def on_user_update(room, update, users):
        if update == Tether.UpdateType.ADD:
            seen['users'] |= ids(users)

    def on_stream_update(room, update, streams, reason):
        if update == Tether.UpdateType.ADD:
            seen['streams'] |= ids(streams)
            check_done()

    viewer.connect('user-update', on_user_update)
    viewer.connect('stream-update', on_stream_update)

    host = login(host_engine, url, ROOM, 'host',
                 mint('host', Tether.Privilege.LOGIN | Tether.Privilege.PUBLISH))
    wait_logined(loop, host, 'host')

    def on_added(room, result):
        try:
            seen['added'] = room.add_stream_finish(result)
        except GLib.Error as e:
            seen['added'] = e
        check_done()

    host.add_stream_async(STREAM, 'local', '{"title": "from Python"}', None, on_added)
    run_until(loop, f'stream-update ADD of "{STREAM}" on the viewer and the host\'s answer')

    report(STREAM in seen['streams'], f'the viewer got stream-update ADD "{STREAM}"')
    report(seen['added'] is True, 'add_stream_finish() is True', seen['added'])
    report('host' in seen['users'], 'the viewer got user-update ADD "host"', seen['users'])

    streams = viewer.get_streams()
    items = [streams.get_item(i) for i in range(streams.get_n_items())]
    mine = [s for s in items if s.get_id() == STREAM]
    report(len(mine) == 1 and mine[0].get_user_id() == 'host'
           and mine[0].get_extra() == '{"title": "from Python"}',
           'Room.get_streams() holds the stream with its user and extra data')

    for engine, room in ((host_engine, host), (viewer_engine, viewer)):
        engine.logout_room(room)


def test_errors_and_tokens():
    token = mint('someone', Tether.Privilege.LOGIN)
    report(Tether.token_is_well_formed(token), 'token_mint() makes a well-formed token')
    claims = Tether.token_verify(token, SECRET, APP_ID, int(time.time()),
                                 Tether.TOKEN_DEFAULT_SKEW)
    report(claims.user_id == 'someone' and claims.room_id == ROOM,
           'token_verify() returns the claims as a boxed Tether.TokenClaims')
    try:
        Tether.token_verify(token, 'wrong', APP_ID, int(time.time()), 0)
        report(False, 'token_verify() with the wrong secret raises')
    except GLib.Error as e:
        report(e.matches(Tether.error_quark(), Tether.Error.TOKEN_INVALID),
               'token_verify() with the wrong secret raises TETHER_ERROR_TOKEN_INVALID', e)
    report(Tether.error_code_to_string(Tether.Error.TOKEN_EXPIRED) == 'token-expired',
           'error_code_to_string()')


def test_player_stats():
    """The network quality rule and the stats struct, as a binding sees them."""
    report(Tether.stream_quality_from_network(0.0, 5) == Tether.StreamQuality.EXCELLENT
           and Tether.stream_quality_from_network(0.2, 5) == Tether.StreamQuality.BAD
           and Tether.stream_quality_to_string(Tether.StreamQuality.POOR) == 'poor',
           'stream_quality_from_network() grades loss and round trip')
    stats = Tether.PlayerStats()
    stats.width = 320
    report(stats.width == 320 and stats.quality == Tether.StreamQuality.UNKNOWN,
           'Tether.PlayerStats is a boxed struct with its fields')


def test_symbols():
    """The shared library exports the public API only, and the GIR shows no more."""
    gir = os.environ['TETHER_GIR']
    lib = os.path.join(os.path.dirname(gir), 'libtether-1.so')
    ns = {'c': 'http://www.gtk.org/introspection/c/1.0',
          'glib': 'http://www.gtk.org/introspection/glib/1.0'}
    root = ET.parse(gir).getroot()
    in_gir = {e.get('{%s}identifier' % ns['c']) for e in root.iter()
              if e.get('{%s}identifier' % ns['c'])}
    in_gir |= {e.get('{%s}get-type' % ns['glib']) for e in root.iter()
               if e.get('{%s}get-type' % ns['glib'])}
    leaked = sorted(s for s in in_gir if s.startswith('tether_') and INTERNAL.match(s))
    report(not leaked, 'the GIR has no internal functions', leaked)

    nm = shutil.which('nm')
    if nm is None:
        print('ok %d - exported symbols # SKIP no nm' % (len(results) + 1))
        results.append(True)
        return
    out = subprocess.run([nm, '-D', '--defined-only', lib], check=True, text=True,
                         capture_output=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
    internal = sorted(s for s in exported if INTERNAL.match(s))
    report(not internal, 'libtether-1.so exports no internal function', internal)
    # Everything exported is in the public headers, hence in the GIR (or skipped there).
    extra = sorted(s for s in exported if s.startswith('tether_') and s not in in_gir)
    report(not extra, 'every exported tether_ symbol is in the GIR', extra)
    # and the other way: a public header that tether.h does not include would be in the
    # GIR but hidden in the library (src/tether/tether-visibility-private.h)
    hidden = sorted(s for s in in_gir if s.startswith('tether_') and s not in exported)
    report(not hidden, 'every function of the GIR is exported', hidden)
    # (the linker's own _edata, _end, __bss_start aside)
    foreign = sorted(s for s in exported
                     if not s.startswith('tether_') and s not in LINKER_SYMBOLS)
    report(not foreign, 'libtether-1.so exports only tether_ symbols', foreign)


def stop_server(loop, server):
    server.send_signal(15)
    server.wait_async(None, lambda proc, result: loop.quit())
    try:
        run_until(loop, 'tether-server exit after SIGTERM')
    except TimeoutError:
        server.force_exit()
        raise


def main():
    loop = GLib.MainLoop()
    server, url = start_server(loop)
    try:
        test_stream_add(loop, url)
    except Exception:
        report(False, 'a stream ADD reaches Python through Tether.Room::stream-update',
               traceback.format_exc())
    finally:
        stop_server(loop, server)
    test_errors_and_tokens()
    test_player_stats()
    test_symbols()
    print(f'1..{len(results)}', flush=True)
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
