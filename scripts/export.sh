#!/usr/bin/env bash
# Write the commits of build/linux (base..series) back to series/ with
# git format-patch, and refresh the generated parts of the cover letter
# (patch count, base version, shortlog, diffstat). The text of the cover
# letter above its "base-version:" line is written by hand and kept.
# The first STANDALONE_FIXES patches are fixes that stand alone: they are
# also written to series/fixes/, a series of their own with its own cover
# letter (kept the same way).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STANDALONE_FIXES=4
COVER=$SERIES/0000-cover-letter.patch

# write_patches DIR RANGE: the commits of RANGE as patches in DIR, replacing
# the patches there (not the cover letter); prints how many.
write_patches() {
	local dir=$1 range=$2
	mkdir -p "$dir"
	find "$dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
	git -C "$LINUX" format-patch -q --zero-commit --no-signature -o "$dir" "$range"
	git -C "$LINUX" rev-list --count "$range"
}

# write_cover COVER RANGE COUNT: refresh the generated part of a cover letter.
write_cover() {
	local version kernel
	version=$(cat "$LINUX/.git/base-version")
	kernel=$(make -s -C "$LINUX" kernelversion)
	git -C "$LINUX" shortlog "$2" >"$tmp/shortlog"
	git -C "$LINUX" diff --stat=72 "$2" >"$tmp/diffstat"
	python3 "$TOP/scripts/cover-letter.py" "$1" "$3" "$kernel" "$version" "$tmp/shortlog" "$tmp/diffstat"
}

require_tree
[ -z "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes: commit them first"
[ "$(git -C "$LINUX" rev-parse --abbrev-ref HEAD)" = series ] ||
	die "build/linux is not on branch 'series' (git -C build/linux checkout series)"

tmp=$(mktemp -d "$BUILD/export.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

count=$(write_patches "$SERIES" base..series)
write_cover "$COVER" base..series "$count"
if [ "$count" -ge "$STANDALONE_FIXES" ]; then
	last=$(git -C "$LINUX" rev-list --reverse base..series | sed -n "${STANDALONE_FIXES}p")
	write_patches "$SERIES/fixes" "base..$last" >/dev/null
	write_cover "$SERIES/fixes/0000-cover-letter.patch" "base..$last" "$STANDALONE_FIXES"
fi
record_series_state
step "exported $count patches to series/, the first $STANDALONE_FIXES also to series/fixes/ (base $(cat "$LINUX/.git/base-version"))"
