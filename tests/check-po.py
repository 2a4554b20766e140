#!/usr/bin/env python3
# check-po.py: every translatable string is in the template and in every translation,
# and every file with translatable strings is listed in po/POTFILES.in
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   check-po.py SRCDIR [XGETTEXT]
#
# Runs xgettext over po/POTFILES.in into a temporary .pot (the same keywords as meson's
# i18n 'glib' preset), then compares its msgids with each language in po/LINGUAS.
# Fails, listing them, on: a file with translatable strings missing from POTFILES.in,
# a listed file that does not exist, a msgid missing from a .po, an empty or fuzzy
# translation. Obsolete (#~) entries are ignored.

import os
import re
import subprocess
import sys
import tempfile

XGETTEXT_ARGS = [
    '--from-code=UTF-8', '--add-comments', '--package-name=tether',
    '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--keyword=ngettext:1,2',
]

# Where translatable strings can live, and what marks them.
C_MARK = re.compile(r'(?<![A-Za-z0-9_])(_|N_|C_|NC_|ngettext|g_dngettext|g_dpgettext2)\s*\(\s*"')
UI_MARK = re.compile(r'translatable\s*=\s*"(yes|true|1)"')


def unquote(s):
    """The value of one "..." PO string."""
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    body = s[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == '\\' and i + 1 < len(body):
            n = body[i + 1]
            out.append({'n': '\n', 't': '\t', '"': '"', '\\': '\\', 'r': '\r'}.get(n, '\\' + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def parse_po(path):
    """{(msgctxt, msgid): (msgstrs, fuzzy)} for the live entries of a PO/POT file."""
    entries = {}
    cur = None
    field = None

    def flush():
        if cur is not None and 'msgid' in cur:
            key = (cur.get('msgctxt'), cur['msgid'])
            strs = [v for k, v in sorted(cur.items()) if k.startswith('msgstr')]
            entries[key] = (strs, cur.get('fuzzy', False))

    with open(path, encoding='utf-8') as f:
        for raw in f:
            line = raw.rstrip('\n')
            if line.startswith('#~') or not line.strip():
                if not line.strip():
                    flush()
                    cur, field = None, None
                continue
            if line.startswith('#'):
                if cur is not None and 'msgid' in cur:
                    flush()
                    cur, field = None, None
                if cur is None:
                    cur = {}
                if line.startswith('#,') and 'fuzzy' in line:
                    cur['fuzzy'] = True
                continue
            m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")\s*$', line)
            if m:
                if cur is None:
                    cur = {}
                elif m.group(1) in ('msgctxt', 'msgid') and 'msgid' in cur:
                    flush()
                    cur = {}
                field = m.group(1)
                cur[field] = unquote(m.group(2))
            elif line.startswith('"') and cur is not None and field is not None:
                cur[field] += unquote(line)
    flush()
    return entries


def files_with_strings(srcdir):
    """Source, UI and data files that hold translatable strings."""
    found = set()
    for top in ('src', 'ui', 'data'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(srcdir, top)):
            dirnames[:] = [d for d in dirnames if not d.startswith(('.', '_'))]
            for name in filenames:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, srcdir)
                if name.endswith(('.desktop.in', '.metainfo.xml.in', '.appdata.xml.in')):
                    found.add(rel)
                    continue
                try:
                    with open(path, encoding='utf-8') as f:
                        text = f.read()
                except (UnicodeDecodeError, OSError):
                    continue
                if name.endswith(('.c', '.h')) and C_MARK.search(text):
                    found.add(rel)
                elif name.endswith('.ui') and UI_MARK.search(text):
                    found.add(rel)
                elif name.endswith('.gschema.xml') and 'gettext-domain' in text:
                    found.add(rel)
    return found


def main():
    srcdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else '.')
    xgettext = sys.argv[2] if len(sys.argv) > 2 else 'xgettext'
    podir = os.path.join(srcdir, 'po')
    problems = []

    with open(os.path.join(podir, 'POTFILES.in'), encoding='utf-8') as f:
        listed = [l.strip() for l in f if l.strip() and not l.lstrip().startswith('#')]
    for rel in listed:
        if not os.path.exists(os.path.join(srcdir, rel)):
            problems.append(f'POTFILES.in lists {rel}, which does not exist')
    for rel in sorted(files_with_strings(srcdir) - set(listed)):
        problems.append(f'{rel} has translatable strings but is not in po/POTFILES.in')

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, 'tether.pot')
        existing = [rel for rel in listed if os.path.exists(os.path.join(srcdir, rel))]
        r = subprocess.run([xgettext, *XGETTEXT_ARGS, '--directory', srcdir, '-o', pot, *existing],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            print('xgettext failed', file=sys.stderr)
            return 1
        template = parse_po(pot)
    template.pop((None, ''), None)
    print(f'# {len(template)} translatable strings in {len(listed)} files')

    with open(os.path.join(podir, 'LINGUAS'), encoding='utf-8') as f:
        langs = [w for l in f if not l.startswith('#') for w in l.split()]
    for lang in langs:
        po = parse_po(os.path.join(podir, lang + '.po'))
        for (ctxt, msgid) in sorted(template, key=lambda k: (k[1], k[0] or '')):
            label = (f'[{ctxt}] ' if ctxt else '') + repr(msgid)
            if (ctxt, msgid) not in po:
                problems.append(f'{lang}.po: missing {label}')
                continue
            strs, fuzzy = po[(ctxt, msgid)]
            if fuzzy:
                problems.append(f'{lang}.po: fuzzy {label}')
            elif not strs or any(s == '' for s in strs):
                problems.append(f'{lang}.po: untranslated {label}')
        print(f'# {lang}: {len(template)} strings checked')

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f'{len(problems)} problem(s)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
