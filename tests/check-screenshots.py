#!/usr/bin/env python3
# check-screenshots.py: every screenshot the metainfo names is a PNG in this tree
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   check-screenshots.py SOURCE_ROOT METAINFO
#
# Software centres fetch the images from the repository's main branch
# (https://raw.githubusercontent.com/<owner>/<repo>/main/<path>); a path that is not in
# the tree is a broken picture on Flathub. The images are the app tests' own screenshots,
# kept in docs/screenshots/.

import os
import re
import sys
import xml.etree.ElementTree as ET

PREFIX = re.compile(r'^https://raw\.githubusercontent\.com/[^/]+/[^/]+/main/(.+)$')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def main():
    root, metainfo = sys.argv[1], sys.argv[2]
    images = [e.text.strip() for e in ET.parse(metainfo).iter('image')]
    failures = []
    if not images:
        failures.append('the metainfo names no screenshot')
    for url in images:
        m = PREFIX.match(url)
        if not m:
            failures.append(f'{url}: not a raw.githubusercontent.com URL on main')
            continue
        path = os.path.join(root, m.group(1))
        if not os.path.isfile(path):
            failures.append(f'{url}: {m.group(1)} is not in the tree')
            continue
        with open(path, 'rb') as f:
            if f.read(8) != PNG_MAGIC:
                failures.append(f'{m.group(1)} is not a PNG')
    for failure in failures:
        print(failure)
    print(f'{len(images)} screenshot(s) checked, {len(failures)} problem(s)')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
