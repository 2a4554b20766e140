#!/usr/bin/env python3
# check-flatpak.py: the Flatpak manifest parses as JSON and keeps what the app needs
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   check-flatpak.py MANIFEST
#
# flatpak-builder itself cannot run here (no runtime, no network), so this checks what
# review would: runtime and SDK, the command, the sandbox holes (exactly the required
# ones, no broad filesystem access), the codecs extension, pinned sources, and that the
# app module is the meson build of this tree.

import json
import re
import sys

REQUIRED_FINISH_ARGS = [
    '--share=network', '--share=ipc', '--socket=wayland', '--socket=fallback-x11',
    '--socket=pulseaudio', '--device=dri', '--filesystem=xdg-run/pipewire-0',
]
# Holes a live-stream viewer has no business opening. The token and app secret need
# none: libsecret in the GNOME runtime keeps them in its file backend, unlocked with the
# app's own master secret from the secret portal; talking to the Secret Service itself
# would open every other application's secrets too.
FORBIDDEN = re.compile(r'^--(filesystem=(host|home|/)|socket=(x11|session-bus|system-bus)$'
                       r'|device=all|talk-name=org\.freedesktop\.(Flatpak|secrets)'
                       r'|talk-name=org\.kde\.kwalletd)')


def main():
    path = sys.argv[1]
    problems = []
    try:
        with open(path, encoding='utf-8') as f:
            m = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f'{path}: {e}', file=sys.stderr)
        return 1

    def expect(cond, what):
        if not cond:
            problems.append(what)

    expect(m.get('id') == 'io.github.tetherlive.Tether', 'id is io.github.tetherlive.Tether')
    expect(m.get('runtime') == 'org.gnome.Platform', 'runtime is org.gnome.Platform')
    expect(m.get('sdk') == 'org.gnome.Sdk', 'sdk is org.gnome.Sdk')
    expect(re.fullmatch(r'\d+', str(m.get('runtime-version', ''))) is not None,
           'runtime-version is a stable GNOME release number')
    expect(m.get('command') == 'tether', 'command is tether')

    args = m.get('finish-args', [])
    for a in REQUIRED_FINISH_ARGS:
        expect(a in args, f'finish-args keeps {a}')
    for a in args:
        expect(not FORBIDDEN.match(a), f'finish-args does not open {a}')
    expect(len(args) == len(set(args)), 'finish-args has no duplicates')

    ext = m.get('add-extensions', {}).get('org.freedesktop.Platform.codecs-extra')
    expect(ext is not None, 'add-extensions has org.freedesktop.Platform.codecs-extra (H.264)')
    if ext:
        d = ext.get('directory', '')
        expect(any(d in c for c in m.get('cleanup-commands', [])),
               f'cleanup-commands creates the codecs-extra mount point {d}')

    modules = m.get('modules', [])
    names = [mod.get('name') if isinstance(mod, dict) else mod for mod in modules]
    expect('libsrt' in names, 'a libsrt module')
    expect(any(n and 'srt' in n and 'gst' in n for n in names), 'a GStreamer SRT plugin module')
    expect(names and names[-1] == 'tether', 'the app module comes last')

    for mod in modules:
        if not isinstance(mod, dict):
            continue
        for src in mod.get('sources', []):
            if not isinstance(src, dict):
                continue
            kind = src.get('type')
            where = f"module {mod.get('name')}"
            if kind in ('archive', 'file'):
                expect(re.fullmatch(r'[0-9a-f]{64}', src.get('sha256', '')) is not None,
                       f'{where}: archive has a real sha256')
                expect(src.get('url', '').startswith('https://'), f'{where}: https url')
            elif kind == 'git':
                expect('tag' in src or 'commit' in src, f'{where}: git source pinned by tag/commit')
        if mod.get('name') == 'tether':
            expect(mod.get('buildsystem') == 'meson', 'the app is built with meson')
        if mod.get('name', '').startswith('gst-plugin-srt'):
            opts = mod.get('config-opts', [])
            expect('-Dauto_features=disabled' in opts and '-Dsrt=enabled' in opts,
                   'the SRT plugin is built alone (-Dauto_features=disabled -Dsrt=enabled)')

    for p in problems:
        print(f'{path}: expected: {p}', file=sys.stderr)
    print(f'# {len(args)} finish-args, {len(modules)} modules, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
