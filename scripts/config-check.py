#!/usr/bin/env python3
"""config-check.py CONFIG FRAGMENT...: the symbols that the fragments ask for
(their last request, in merge order) and CONFIG does not have with that value,
one "CONFIG_X: asked for V, got W" line each; nothing if all survived."""
import re
import sys


def requested(fragments):
    want = {}
    for frag in fragments:
        for line in open(frag):
            m = re.match(r'(CONFIG_\w+)=(.*)', line)
            if m:
                want[m.group(1)] = m.group(2)
                continue
            m = re.match(r'# (CONFIG_\w+) is not set', line)
            if m:
                want[m.group(1)] = 'n'
    return want


def main():
    have = {}
    for line in open(sys.argv[1]):
        m = re.match(r'(CONFIG_\w+)=(.*)', line)
        if m:
            have[m.group(1)] = m.group(2)
    for sym, val in sorted(requested(sys.argv[2:]).items()):
        got = have.get(sym, 'n')
        if got != val:
            print(f'{sym}: asked for {val}, got {got}')


if __name__ == '__main__':
    main()
