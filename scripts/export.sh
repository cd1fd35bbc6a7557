#!/usr/bin/env bash
# Write the commits of build/linux (base..series) back to series/ with
# git format-patch, and refresh the generated parts of the cover letter
# (patch count, base version, shortlog, diffstat). The text of the cover
# letter above its "base-version:" line is written by hand and kept.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COVER=$SERIES/0000-cover-letter.patch
require_tree
[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes: commit them first"
[ "$(git -C "$LINUX" rev-parse --abbrev-ref HEAD)" = series ] ||
	die "build/linux is not on branch 'series' (git -C build/linux checkout series)"

tmp=$(mktemp -d "$BUILD/export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
git -C "$LINUX" format-patch -q --zero-commit --no-signature -o "$tmp" base..series
count=$(find "$tmp" -name '*.patch' | wc -l)

mkdir -p "$SERIES"
find "$SERIES" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
[ "$count" -eq 0 ] || mv "$tmp"/*.patch "$SERIES/"

version=$(cat "$LINUX/.git/base-version")
kernel=$(make -s -C "$LINUX" kernelversion)
git -C "$LINUX" shortlog base..series >"$tmp/shortlog"
git -C "$LINUX" diff --stat=72 base..series >"$tmp/diffstat"
python3 - "$COVER" "$count" "$kernel" "$version" "$tmp/shortlog" "$tmp/diffstat" <<'PY'
import re, sys
cover, count, kernel, version, shortlog, diffstat = sys.argv[1:]
marker = 'base-version:'
try:
    text = open(cover).read()
except FileNotFoundError:
    text = ('From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n'
            'Subject: [PATCH 0/0] *** SUBJECT HERE ***\n\n*** BLURB HERE ***\n\n')
head = text.split(marker)[0].rstrip('\n') + '\n\n'
head = re.sub(r'^Subject: \[PATCH[^\]]*\]', f'Subject: [PATCH 0/{count}]', head, count=1, flags=re.M)
tail = (f'{marker} Linux {kernel} as Debian ships it in linux-source '
        f'{version}\n\n' + open(shortlog).read().rstrip('\n') + '\n\n' +
        open(diffstat).read().rstrip('\n') + '\n-- \n')
open(cover, 'w').write(head + tail)
PY
record_series_state
step "exported $count patches to series/ (base $version)"
