#!/usr/bin/python3
# watch-room.py: print who comes and goes in a Tether room, and their streams
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   examples/watch-room.py ws://HOST:PORT/ws APP_ID ROOM USER TOKEN
# A token: tether-cli token --app-id APP_ID --app-secret SECRET --room ROOM --user USER
# From a build tree: GI_TYPELIB_PATH=_build/src/tether LD_LIBRARY_PATH=_build/src/tether
import sys
import gi
gi.require_version('Tether', '1')
from gi.repository import GLib, Tether

url, app_id, room_id, user_id, token = sys.argv[1:6]
engine = Tether.Engine.new()
room = engine.login_room(Tether.LoginOptions(server_url=url, app_id=app_id, room_id=room_id,
                                             user_id=user_id, user_name=user_id, token=token,
                                             notify_users=True))
loop = GLib.MainLoop()


def on_state(room, state, error_code, extended_data):
    print('room', state.value_nick, Tether.error_code_to_string(error_code) if error_code else '')
    if state in (Tether.RoomState.LOGIN_FAILED, Tether.RoomState.KICK_OUT,
                 Tether.RoomState.RECONNECT_FAILED):
        loop.quit()


def show(kind, update, items):
    for item in items:
        print('+' if update == Tether.UpdateType.ADD else '-', kind, item.get_id())


room.connect('state-changed', on_state)
room.connect('user-update', lambda r, update, users: show('user', update, users))
room.connect('stream-update', lambda r, update, streams, reason: show('stream', update, streams))
loop.run()
sys.exit(0 if room.get_state() == Tether.RoomState.LOGINED else 1)
