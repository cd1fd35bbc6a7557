#!/usr/bin/env python3
"""gitignore-strip.py GITIGNORE: cut the block at the end of the Debian
linux-source tarball's top-level .gitignore that ignores every top-level
entry, without which git sees no files at all (scripts/tree.sh)."""
import sys

MARKER = '# Debian packaging: ignore everything at the top level'


def main():
    path = sys.argv[1]
    text = open(path).read()
    i = text.find(MARKER)
    if i < 0:
        return
    block = text.rfind('\n#\n', 0, i)
    if block >= 0:
        i = block + 1
    with open(path, 'w') as f:
        f.write(text[:i].rstrip('\n') + '\n')


if __name__ == '__main__':
    main()
