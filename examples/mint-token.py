#!/usr/bin/env python3
# mint-token.py: mint a Tether token without libtether, as an operator's backend does
# (docs/protocol.md, "Tokens"). Standard library only.
#
#   TETHER_APP_SECRET=... mint-token.py APP_ID USER_ID [ROOM_ID] [--publish] [--lifetime S]
#                                       [--passphrase]
#
# With --passphrase a second line holds the token's SRT passphrase (docs/protocol.md,
# "Media encryption"), for a tool that connects to a media node without a room
# session. The secret comes from the environment, never from the command line.
# SPDX-License-Identifier: GPL-3.0-or-later
import argparse, base64, hashlib, hmac, json, os, secrets, time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def mint(secret, app_id, user_id, room_id=None, publish=False, streams=None,
         lifetime=3600):
    now = int(time.time())
    claims = {'v': 1, 'app': app_id, 'uid': user_id,
              'priv': ['login', 'publish'] if publish else ['login'],
              'iat': now, 'exp': now + lifetime, 'nonce': b64url(secrets.token_bytes(12))}
    if room_id is not None:
        claims['room'] = room_id
    if streams is not None:
        claims['streams'] = list(streams)
    payload = b64url(json.dumps(claims, separators=(',', ':')).encode('utf-8'))
    mac = hmac.new(secret.encode('utf-8'), payload.encode('ascii'), hashlib.sha256)
    return payload + '.' + b64url(mac.digest())


def srt_passphrase(secret, token):
    """What a media node sets for this token: base64url(HMAC-SHA-256(secret, label + token))."""
    mac = hmac.new(secret.encode('utf-8'), b'tether-srt-passphrase\n' + token.encode('ascii'),
                   hashlib.sha256)
    return b64url(mac.digest())


if __name__ == '__main__':
    p = argparse.ArgumentParser(description='Mint a Tether token (secret: $TETHER_APP_SECRET)')
    p.add_argument('app_id')
    p.add_argument('user_id')
    p.add_argument('room_id', nargs='?')
    p.add_argument('--publish', action='store_true', help='allow publishing streams')
    p.add_argument('--stream', action='append', help='only this stream id (repeatable)')
    p.add_argument('--lifetime', type=int, default=3600, help='seconds (3600)')
    p.add_argument('--passphrase', action='store_true',
                   help="also print the token's SRT passphrase, on a second line")
    a = p.parse_args()
    secret = os.environ.get('TETHER_APP_SECRET')
    if not secret:
        p.error('set TETHER_APP_SECRET')
    token = mint(secret, a.app_id, a.user_id, a.room_id, a.publish, a.stream, a.lifetime)
    print(token)
    if a.passphrase:
        print(srt_passphrase(secret, token))
