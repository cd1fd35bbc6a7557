#!/usr/bin/env python3
"""cover-letter.py COVER COUNT KERNEL VERSION SHORTLOG DIFFSTAT: refresh the
generated part of a cover letter (scripts/export.sh): the patch count in its
subject, and after "base-version:" the base, the shortlog and the diffstat.
The text above "base-version:" is kept; a missing cover letter is created
with placeholders."""
import re
import sys

MARKER = 'base-version:'
NEW = ('From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
       'Subject: [PATCH 0/0] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n\n')


def main():
    cover, count, kernel, version, shortlog, diffstat = sys.argv[1:]
    try:
        text = open(cover).read()
    except FileNotFoundError:
        text = NEW
    head = text.split(MARKER)[0].rstrip('\n') + '\n\n'
    head = re.sub(r'^Subject: \[PATCH[^\]]*\]', f'Subject: [PATCH 0/{count}]', head,
                  count=1, flags=re.M)
    tail = (f'{MARKER} Linux {kernel} as Debian ships it in linux-source {version}\n\n'
            + open(shortlog).read().rstrip('\n') + '\n\n'
            + open(diffstat).read().rstrip('\n') + '\n-- \n')
    with open(cover, 'w') as f:
        f.write(head + tail)


if __name__ == '__main__':
    main()
