#!/usr/bin/env bash
# kernel.sh FLAVOUR [TARGET...]: configure and build one kernel flavour of
# configs/flavours.tsv out of tree, in its build directory, with ccache.
# Fails when a symbol a checked fragment asks for did not survive
# olddefconfig.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLAVOUR_TABLE=$TOP/configs/flavours.tsv

# flavour_field FLAVOUR N: field N (2: arch, 3: fragments, 4: checked
# fragments, 5: source tree) of FLAVOUR in configs/flavours.tsv.
flavour_field() {
	table_field "$FLAVOUR_TABLE" "$1" "$2" ||
		die "unknown kernel flavour '$1'; the flavours of ${FLAVOUR_TABLE#"$TOP"/}: $(table_names "$FLAVOUR_TABLE" | tr '\n' ' ')"
}

flavour_arch() {
	flavour_field "$1" 2
}

# fragment_paths NAME...: the files of config fragments named as in the table.
fragment_paths() {
	local f
	for f in "$@"; do
		case "$f" in
		*/*) echo "$LINUX/$f" ;;
		*) echo "$TOP/configs/$f.config" ;;
		esac
	done
}

# Fragments, in merge order (a later one wins).
flavour_fragments() {
	# shellcheck disable=SC2046 # one fragment a word
	fragment_paths $(flavour_field "$1" 3) | tr '\n' ' '
}

# The base, checked out next to build/linux as build/base/linux, and the
# kernels built from it in build/base/: the same paths relative to each
# other as build/linux and build/kernel-*, so that ccache finds the objects
# of every file the series does not touch.
BASE_TREE=$BUILD/base/linux

ensure_base_tree_checkout() {
	if [ ! -d "$BASE_TREE" ]; then
		step "checking out the base into ${BASE_TREE#"$TOP"/} (for comparisons)"
		git -C "$LINUX" worktree prune || return 1
		mkdir -p "$(dirname "$BASE_TREE")"
		git -C "$LINUX" worktree add -q --detach "$BASE_TREE" base || return 1
	fi
	git -C "$BASE_TREE" checkout -q --detach base
}

# The base with its text moved, for make bench: under TCG the speed of a
# path depends on where its code falls in pages, so a series that only
# moves the code after it can look slower or faster. Booting the base
# moved by about as much as the series moves it gives that effect its own
# figure. Same relative layout as build/base.
SHIFTED_BASE_TREE=$BUILD/base-shifted/linux
SHIFT_TEXT_PATCH=$TOP/tests/bench/shift-text.patch

ensure_shifted_base_checkout() {
	local want
	[ -f "$SHIFT_TEXT_PATCH" ] || { echo "${SHIFT_TEXT_PATCH#"$TOP"/} is missing" >&2; return 1; }
	want=$(git -C "$LINUX" patch-id --stable <"$SHIFT_TEXT_PATCH" | cut -d' ' -f1)
	# Kept when it is the base plus exactly that patch, and nothing else.
	if [ -d "$SHIFTED_BASE_TREE" ] &&
		[ "$(git -C "$SHIFTED_BASE_TREE" rev-parse HEAD~1 2>/dev/null)" = "$(git -C "$LINUX" rev-parse "base^{commit}")" ] &&
		[ "$(git -C "$SHIFTED_BASE_TREE" diff-tree -p --no-color --no-ext-diff HEAD | git patch-id --stable | cut -d' ' -f1)" = "$want" ] &&
		git -C "$SHIFTED_BASE_TREE" diff --quiet HEAD; then
		return 0
	fi
	step "checking out the base with its text moved into ${SHIFTED_BASE_TREE#"$TOP"/}"
	rm -rf "$SHIFTED_BASE_TREE"
	git -C "$LINUX" worktree prune || return 1
	mkdir -p "$(dirname "$SHIFTED_BASE_TREE")"
	git -C "$LINUX" worktree add -q --detach "$SHIFTED_BASE_TREE" base || return 1
	if ! git -C "$SHIFTED_BASE_TREE" -c user.name=make-bench -c user.email=bench@localhost \
		am -q "$SHIFT_TEXT_PATCH"; then
		git -C "$SHIFTED_BASE_TREE" am --abort 2>/dev/null || true
		echo "${SHIFT_TEXT_PATCH#"$TOP"/} does not apply to the base" >&2
		return 1
	fi
}

# kernel_src FLAVOUR, kernel_out FLAVOUR: its source tree and build directory.
kernel_src() {
	case "$(flavour_field "$1" 5)" in
	base) echo "$BASE_TREE" ;;
	base-shifted) echo "$SHIFTED_BASE_TREE" ;;
	*) echo "$LINUX" ;;
	esac
}

kernel_out() {
	case "$(flavour_field "$1" 5)" in
	base) echo "$BUILD/base/kernel-$1" ;;
	base-shifted) echo "$BUILD/base-shifted/kernel-$1" ;;
	*) echo "$BUILD/kernel-$1" ;;
	esac
}

default_target() {
	case "$(flavour_arch "$1")" in
	arm64) echo Image ;;
	*) echo bzImage ;;
	esac
}

kernel_image() {
	case "$(flavour_arch "$1")" in
	arm64) echo "$(kernel_out "$1")/arch/arm64/boot/Image" ;;
	*) echo "$(kernel_out "$1")/arch/x86/boot/bzImage" ;;
	esac
}

kmake() {
	local flavour=$1 arch
	shift
	arch=$(flavour_arch "$flavour")
	local args=(-C "$(kernel_src "$flavour")" O="$(kernel_out "$flavour")" ARCH="$arch" -j"$JOBS"
		KBUILD_BUILD_USER=iommu-series KBUILD_BUILD_HOST=qemu
		KBUILD_BUILD_TIMESTAMP="${KBUILD_BUILD_TIMESTAMP:-2026-01-01}"
		HOSTCC="ccache gcc")
	if [ "$arch" = arm64 ]; then
		args+=(CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc")
	else
		args+=(CC="ccache gcc")
	fi
	make "${args[@]}" "$@"
}

# check_config FLAVOUR: every symbol its checked fragments ask for has its
# last requested value in .config (scripts/config-check.py). Not checked:
# kvm_guest.config, upstream's, which asks for devices we do not use; and, for
# the build-only flavours, the guest fragments, much of which configuring the
# IOMMU or ATS out drops. With a second argument, a source tree: only the
# symbols its Kconfig defines.
check_config() {
	local flavour=$1 bad
	# shellcheck disable=SC2046 # one argument per fragment
	bad=$(python3 "$TOP/scripts/config-check.py" ${2:+--defined-in "$2"} "$(kernel_out "$flavour")/.config" \
		$(fragment_paths $(flavour_field "$flavour" 4)) 2>&1) && return 0
	echo "${bad:-config-check.py failed}"
	return 1
}

# merge_fragments FLAVOUR BASE: merge FLAVOUR's fragments over the config
# target BASE (tinyconfig, or olddefconfig to start from the .config there),
# then olddefconfig.
merge_fragments() {
	local flavour=$1 out log=$LOGS/config-$1.log
	out=$(kernel_out "$flavour")
	mkdir -p "$out"
	run_logged "$log" kmake "$flavour" "$2" || die "$2 failed for kernel-$flavour"
	# shellcheck disable=SC2046 # one argument per fragment
	run_logged "$log" "$LINUX/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		$(flavour_fragments "$flavour") || die "merge_config failed for kernel-$flavour"
	run_logged "$log" kmake "$flavour" olddefconfig || die "olddefconfig failed for kernel-$flavour"
}

# configure FLAVOUR: a .config from its fragments, on tinyconfig, unless the
# one there already has them all. A per-patch build (BISECT_BUILD=1) merges
# them again at each patch, over the .config there: the tree's Kconfig
# changes from one patch to the next, and a symbol a patch adds must be
# compiled at that patch. It checks the symbols that exist at that patch
# (one of a later patch is not there yet).
configure() {
	local flavour=$1 out hash bad
	out=$(kernel_out "$1")
	# shellcheck disable=SC2046 # one argument per fragment
	hash=$(cat $(flavour_fragments "$flavour") | sha256sum | cut -c1-16)
	if [ -n "${BISECT_BUILD:-}" ] && [ -f "$out/.config" ]; then
		merge_fragments "$flavour" olddefconfig
		bad=$(check_config "$flavour" "$(kernel_src "$flavour")") ||
			die "kernel-$flavour: config symbols defined at this patch did not survive olddefconfig:
$bad"
		return 0
	fi
	if [ -f "$out/.config" ] && [ "$(cat "$out/.fragments" 2>/dev/null)" = "$hash" ] &&
		check_config "$flavour" >/dev/null; then
		return 0
	fi
	step "configuring kernel-$flavour"
	merge_fragments "$flavour" tinyconfig
	if ! bad=$(check_config "$flavour" ${BISECT_BUILD:+"$(kernel_src "$flavour")"}); then
		die "kernel-$flavour: config symbols did not survive olddefconfig:
$bad"
	fi
	echo "$hash" >"$out/.fragments"
}

build() {
	local flavour=$1 t0 log
	shift
	[ $# -gt 0 ] || set -- "$(default_target "$flavour")"
	require_tree
	case "$(kernel_src "$flavour")" in
	"$BASE_TREE") ensure_base_tree_checkout || die "cannot check out the base in $BASE_TREE" ;;
	"$SHIFTED_BASE_TREE") ensure_shifted_base_checkout || die "cannot prepare $SHIFTED_BASE_TREE" ;;
	esac
	configure "$flavour"
	log=$LOGS/build-$flavour.log
	step "building kernel-$flavour ($*) from $(git -C "$(kernel_src "$flavour")" describe --always --tags HEAD); log: ${log#"$TOP"/}"
	t0=$(date +%s)
	run_logged "$log" kmake "$flavour" "$@" || die "kernel-$flavour build failed"
	step "built kernel-$flavour in $(($(date +%s) - t0)) s"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ $# -ge 1 ] || die "usage: kernel.sh FLAVOUR [make targets]"
	build "$@"
fi
