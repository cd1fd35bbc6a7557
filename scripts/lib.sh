# shellcheck shell=bash
# Shared helpers for the tooling: paths, progress lines, logged commands.
# Sourced by every script in scripts/; never run on its own.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
LINUX=$BUILD/linux
LOGS=$BUILD/logs
# Downloads (the linux-source .deb, sparse, arm64 busybox) live outside the
# checkout so that a fresh clone on the same machine does not fetch again.
CACHE=${IOMMU_SERIES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iommu-reset-series}
# Static arm64 busybox for the arm64 initramfs, from Debian's package.
# shellcheck disable=SC2034 # used by the scripts that source this file
ARM64_BUSYBOX=$CACHE/busybox-arm64/usr/bin/busybox
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
# Kernel builds pass absolute paths (-I, -fmacro-prefix-map): relative to
# the checkout they are the same in every clone, so the cache is shared.
export CCACHE_BASEDIR=$TOP
# The one path base_dir does not rewrite, inside -fmacro-prefix-map=SRC/=:
# without this, a fresh clone misses ccache's direct mode everywhere and
# preprocesses every file (5 minutes instead of 1 for a warm x86 build).
# Leaving it out of the hash is safe: it maps the tree's own path away.
export CCACHE_IGNOREOPTIONS='-fmacro-prefix-map=*'
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
JOBS=${JOBS:-$(($(nproc) + 1))}
mkdir -p "$BUILD" "$LOGS" "$CACHE"

: "${STEP_T0:=$(date +%s)}"
export STEP_T0

# step MESSAGE: one progress line with wall time and time since start.
step() {
	local now
	now=$(date +%s)
	printf '[%s +%4ss] %s\n' "$(date +%H:%M:%S)" "$((now - STEP_T0))" "$*"
}

die() {
	printf '\nerror: %s\n' "$*" >&2
	exit 1
}

# run_logged LOG CMD...: run CMD with all output in LOG; on failure show
# the end of the log and return the command's status.
run_logged() {
	local log=$1 rc=0
	shift
	mkdir -p "$(dirname "$log")"
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '  failed (exit %s): %s\n  last lines of %s:\n' "$rc" "$*" "$log" >&2
		tail -n 30 "$log" | sed 's/^/    | /' >&2
	fi
	return "$rc"
}

# The kernel tree must exist and carry the tag "base".
require_tree() {
	git -C "$LINUX" rev-parse -q --verify base >/dev/null 2>&1 ||
		die "no kernel tree at $LINUX: run 'make tree' first"
}

# The series: patches in series/ (the cover letter is not applied).
SERIES=$TOP/series
# What build/linux was last synced with: "<hash of series/> <HEAD>".
SERIES_STATE=$LINUX/.git/series-applied

series_patches() {
	find "$SERIES" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort
}

series_hash() {
	local p
	{ for p in $(series_patches); do basename "$p"; cat "$p"; done; } | sha256sum | cut -c1-16
}

record_series_state() {
	echo "$(series_hash) $(git -C "$LINUX" rev-parse HEAD)" >"$SERIES_STATE"
}

# The tables of the tooling (configs/flavours.tsv, tests/guests.tsv): one
# line each, fields separated by "|", "#" starts a comment line.

# table_names FILE: the names (first fields) of FILE's lines, in order.
table_names() {
	awk -F'|' '!/^#/ && NF > 1 { gsub(/[ \t]/, "", $1); print $1 }' "$1"
}

# table_field FILE NAME N: field N of line NAME of FILE, without surrounding
# blanks; fails if FILE has no such line.
table_field() {
	awk -F'|' -v name="$2" -v n="$3" '
		!/^#/ && NF > 1 {
			g = $1; gsub(/[ \t]/, "", g)
			if (g != name) next
			f = $n; gsub(/^[ \t]+|[ \t]+$/, "", f); print f; found = 1; exit
		}
		END { exit !found }' "$1"
}
