#!/usr/bin/env bash
# kernel.sh FLAVOUR [TARGET...]: configure (from configs/) and build one
# kernel flavour out of tree in build/kernel-FLAVOUR, with ccache.
#   x86            x86_64 test guest (VT-d)
#   x86-debug      the same with lockdep, KASAN, kmemleak, atomic-sleep checks
#   arm64          arm64 test guest (SMMUv3), cross-compiled
#   x86-no-iommu-api, x86-no-pci-ats   build-only, for the config stubs
#   x86-bench      x86 with the DMA map benchmark and no fault injection
#   x86-bench-base the same config, built from the base (make bench)
#   x86-bench-base-shifted  the same again, from the base with its text moved
#                  (tests/bench/shift-text.patch): make bench's layout control
# Fails when a symbol a fragment asks for did not survive olddefconfig.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

flavour_arch() {
	case "$1" in
	arm64*) echo arm64 ;;
	*) echo x86_64 ;;
	esac
}

# Fragments, in merge order (a later one wins).
flavour_fragments() {
	local c=$TOP/configs
	case "$1" in
	x86) echo "$LINUX/kernel/configs/kvm_guest.config $c/guest-common.config $c/x86_64.config" ;;
	x86-debug) echo "$(flavour_fragments x86) $c/debug.config" ;;
	x86-no-iommu-api) echo "$(flavour_fragments x86) $c/no-iommu-api.config" ;;
	x86-no-pci-ats) echo "$(flavour_fragments x86) $c/no-pci-ats.config" ;;
	arm64) echo "$c/guest-common.config $c/arm64.config" ;;
	x86-bench | x86-bench-base | x86-bench-base-shifted) echo "$(flavour_fragments x86) $c/bench.config" ;;
	*) die "unknown kernel flavour '$1' (x86, x86-debug, arm64, x86-no-iommu-api, x86-no-pci-ats, x86-bench, x86-bench-base, x86-bench-base-shifted)" ;;
	esac
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
	case "$1" in
	*-base) echo "$BASE_TREE" ;;
	*-base-shifted) echo "$SHIFTED_BASE_TREE" ;;
	*) echo "$LINUX" ;;
	esac
}

kernel_out() {
	case "$1" in
	*-base) echo "$BUILD/base/kernel-$1" ;;
	*-base-shifted) echo "$BUILD/base-shifted/kernel-$1" ;;
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

# check_config FLAVOUR: every symbol our fragments (configs/) ask for has
# its last requested value in .config. kvm_guest.config is upstream's and
# asks for devices we do not use, so it is merged but not checked. The
# build-only flavours check their own fragment: configuring the IOMMU or ATS
# out drops much of what the guest fragments ask for.
check_config() {
	local flavour=$1 out bad
	out=$(kernel_out "$1")
	# shellcheck disable=SC2046
	local checked=$TOP/configs/
	case "$flavour" in x86-no-*) checked=$TOP/configs/${flavour#x86-} ;; esac
	# shellcheck disable=SC2046 # one argument per fragment
	bad=$(python3 - "$out/.config" "$checked" $(flavour_fragments "$flavour") <<'PY'
import re, sys
want = {}
for frag in sys.argv[3:]:
    if not frag.startswith(sys.argv[2]):
        continue
    for line in open(frag):
        m = re.match(r'(CONFIG_\w+)=(.*)', line) or re.match(r'# (CONFIG_\w+) is not set', line)
        if m:
            want[m.group(1)] = m.group(2) if m.lastindex == 2 else 'n'
have = {}
for line in open(sys.argv[1]):
    m = re.match(r'(CONFIG_\w+)=(.*)', line)
    if m:
        have[m.group(1)] = m.group(2)
for sym, val in sorted(want.items()):
    got = have.get(sym, 'n')
    if got != val:
        print(f'{sym}: asked for {val}, got {got}')
PY
)
	[ -z "$bad" ] && return 0
	echo "$bad"
	return 1
}

configure() {
	local flavour=$1 out hash frags bad
	out=$(kernel_out "$1")
	frags=$(flavour_fragments "$flavour")
	# shellcheck disable=SC2086
	hash=$(cat $frags | sha256sum | cut -c1-16)
	# A per-patch build (BISECT_BUILD=1) may drop symbols that later
	# patches add: the next full build finds them missing and configures
	# again. A per-patch build checks nothing, for the same reason.
	if [ -f "$out/.config" ] && [ "$(cat "$out/.fragments" 2>/dev/null)" = "$hash" ] &&
		{ [ -n "${BISECT_BUILD:-}" ] || check_config "$flavour" >/dev/null; }; then
		return 0
	fi
	step "configuring kernel-$flavour"
	mkdir -p "$out"
	run_logged "$LOGS/config-$flavour.log" kmake "$flavour" tinyconfig || die "tinyconfig failed"
	# shellcheck disable=SC2086
	run_logged "$LOGS/config-$flavour.log" "$LINUX/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" $frags ||
		die "merge_config failed"
	run_logged "$LOGS/config-$flavour.log" kmake "$flavour" olddefconfig || die "olddefconfig failed"
	if [ -z "${BISECT_BUILD:-}" ] && ! bad=$(check_config "$flavour"); then
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
