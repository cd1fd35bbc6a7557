#!/usr/bin/env python3
"""config-check.py [--defined-in TREE] CONFIG FRAGMENT...: the symbols that
the fragments ask for (their last request, in merge order) and CONFIG does
not have with that value, one "CONFIG_X: asked for V, got W" line each, and
exit status 1; nothing and 0 if all survived. With --defined-in, only the
symbols that TREE's Kconfig files define count: a per-patch build checks, at
each patch, what exists there (a symbol a later patch adds cannot be set
yet). Defined is not settable: a patch that added a dependency a later one
satisfies would fail here; none in this series does."""
import argparse
import os
import re
import sys

KCONFIG_SYMBOL = re.compile(r'^\s*(?:menu)?config\s+(\w+)\s*$')


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


def defined_symbols(tree):
    """Every CONFIG_ symbol a Kconfig file of TREE defines."""
    symbols = set()
    for root, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        for name in files:
            if name.startswith('Kconfig'):
                for line in open(os.path.join(root, name), errors='replace'):
                    m = KCONFIG_SYMBOL.match(line)
                    if m:
                        symbols.add('CONFIG_' + m.group(1))
    return symbols


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--defined-in', metavar='TREE')
    parser.add_argument('config')
    parser.add_argument('fragments', nargs='*')
    args = parser.parse_args()
    have = {}
    for line in open(args.config):
        m = re.match(r'(CONFIG_\w+)=(.*)', line)
        if m:
            have[m.group(1)] = m.group(2)
    defined = defined_symbols(args.defined_in) if args.defined_in else None
    if defined is not None and 'CONFIG_PCI' not in defined:
        sys.exit(f'{args.defined_in}: no Kconfig defines CONFIG_PCI there: not a kernel tree')
    bad = 0
    for sym, val in sorted(requested(args.fragments).items()):
        if defined is not None and sym not in defined:
            continue
        got = have.get(sym, 'n')
        if got != val:
            print(f'{sym}: asked for {val}, got {got}')
            bad = 1
    return bad


if __name__ == '__main__':
    sys.exit(main())
