#!/usr/bin/env bash
# make check: every gate and test of the series, from a fresh machine.
# Each check records one or more KTAP results in build/results/host.ktap or
# (guests) build/guests/NAME/; scripts/results.py counts them all and prints
# "N passed, N failed". A check that cannot run is a failure, never a pass.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

RESULTS_DIR=$BUILD/results
HOST_KTAP=$RESULTS_DIR/host.ktap
HOST_N=0

# record pass|fail|skip NAME [DETAIL_FILE|REASON]
record() {
	local status=$1 name=$2 detail=${3:-}
	HOST_N=$((HOST_N + 1))
	case "$status" in
	pass) echo "ok $HOST_N $name" ;;
	skip) echo "ok $HOST_N $name # SKIP $detail" ;;
	*)
		if [ -f "$detail" ]; then
			tail -n 40 "$detail" | sed 's/^/# /'
		elif [ -n "$detail" ]; then
			echo "# $detail"
		fi
		echo "not ok $HOST_N $name"
		;;
	esac >>"$HOST_KTAP"
	[ "$status" = fail ] && step "FAILED: $name${detail:+ ($detail)}"
	return 0
}

# gate NAME COMMAND...: run COMMAND in a subshell (so that die() in it ends
# only this check) with its output in build/logs/gate-NAME.log.
gate() {
	local name=$1 log=$LOGS/gate-$1.log
	shift
	if ("$@") >"$log" 2>&1; then
		record pass "$name"
	else
		record fail "$name" "$log"
	fi
}

finish() {
	step "results"
	python3 "$TOP/scripts/results.py" "$BUILD" | tee "$RESULTS_DIR/summary.txt"
	local rc=${PIPESTATUS[0]}
	step "logs: build/logs, guest consoles: build/guests/*/console.log"
	exit "$rc"
}

# ---- the series ----------------------------------------------------------

# series/ applies with git am semantics (git apply, no fuzz) patch by patch
# onto the pristine base, and build/linux holds exactly that result.
check_series_applies() {
	local index=$BUILD/series-check.index p name ok=1
	rm -f "$index"
	GIT_INDEX_FILE=$index git -C "$LINUX" read-tree base
	for p in $(series_patches); do
		name=$(basename "$p" .patch)
		if GIT_INDEX_FILE=$index git -C "$LINUX" apply --cached "$p" >"$LOGS/apply-$name.log" 2>&1; then
			record pass "series.applies.$name"
		else
			record fail "series.applies.$name" "$LOGS/apply-$name.log"
			ok=0
		fi
	done
	if [ $ok = 1 ]; then
		local want have
		want=$(GIT_INDEX_FILE=$index git -C "$LINUX" write-tree)
		have=$(git -C "$LINUX" rev-parse 'HEAD^{tree}')
		if [ "$want" = "$have" ]; then
			record pass series.matches_build_tree
		else
			record fail series.matches_build_tree \
				"build/linux differs from base + series/: run 'make export' (or re-apply series/)"
		fi
	fi
	rm -f "$index"
}

# checkpatch --strict: nothing but UNKNOWN_COMMIT_ID (the Debian tree has
# no history to look commit ids up in).
checkpatch_one() {
	local out
	out=$(cd "$LINUX" && ./scripts/checkpatch.pl --strict --show-types --terse --no-summary "$1" || true)
	echo "$out"
	! echo "$out" | grep -E '(ERROR|WARNING|CHECK):' | grep -qv 'UNKNOWN_COMMIT_ID'
}

check_checkpatch() {
	local p
	for p in $(series_patches); do
		gate "checkpatch.$(basename "$p" .patch)" checkpatch_one "$p"
	done
}

# The cover letter names the base this run used and lists every patch.
check_cover_letter() {
	local cover=$SERIES/0000-cover-letter.patch subject
	[ -f "$cover" ] || { echo "no $cover"; return 1; }
	grep -F "base-version: Linux $(make -s -C "$LINUX" kernelversion) as Debian ships it in linux-source $(cat "$LINUX/.git/base-version")" "$cover" ||
		{ echo "the cover letter does not name base $(cat "$LINUX/.git/base-version"): run make export"; return 1; }
	git -C "$LINUX" log --reverse --format=%s base..HEAD | while read -r subject; do
		grep -qF "$subject" "$cover" || { echo "cover letter lacks: $subject (run make export)"; exit 1; }
	done
}

# Patches touching these need the arm64 build too (SMMUv3 has no COMPILE_TEST).
touches_arm64() {
	git -C "$LINUX" diff --name-only "$1^" "$1" | grep -qE '^(drivers/iommu/(arm/|[^/]*$)|include/|drivers/pci/[^/]*$)'
}

# Every patch builds on its own: walk the series in build/linux, building
# the x86 test kernel (and arm64 where it matters) at each step.
check_bisect() {
	local commits c n=0 name
	commits=$(git -C "$LINUX" rev-list --reverse base..HEAD)
	[ -n "$commits" ] || { record pass bisect.empty_series; return; }
	# Back on the branch whatever happens (the tree was clean: tree.sh).
	trap 'git -C "$LINUX" checkout -q series' EXIT
	for c in $commits; do
		n=$((n + 1))
		name=$(printf '%04d-%s' "$n" "$(git -C "$LINUX" log -1 --format=%f "$c" | cut -c1-52)")
		git -C "$LINUX" checkout -q --detach "$c"
		gate "bisect.$name.x86" "$TOP/scripts/kernel.sh" x86
		if touches_arm64 "$c"; then
			gate "bisect.$name.arm64" "$TOP/scripts/kernel.sh" arm64
		fi
	done
	git -C "$LINUX" checkout -q series
	trap - EXIT
}

# Builds with the IOMMU API or PCI ATS configured out: the stubs compile.
check_config_stubs() {
	gate build.x86-no-iommu-api "$TOP/scripts/kernel.sh" x86-no-iommu-api
	gate build.x86-no-pci-ats "$TOP/scripts/kernel.sh" x86-no-pci-ats
}

# ---- static analysis: nothing new compared with the base -----------------

BASE_TREE=$BUILD/linux-base
# Always analysed, so the gates mean something even for an empty series.
ANALYSED_ALWAYS="drivers/iommu/iommu.c drivers/pci/pci.c"

analysed_files() {
	{
		echo "$ANALYSED_ALWAYS" | tr ' ' '\n'
		git -C "$LINUX" diff --name-only --diff-filter=AM base..HEAD -- '*.c' |
			grep -vE '^(tools|Documentation|samples|scripts)/' || true
	} | sort -u
}

file_flavour() {
	case "$1" in
	drivers/iommu/arm/*) echo arm64 ;;
	*) echo x86 ;;
	esac
}

ensure_base_tree_checkout() {
	if [ ! -d "$BASE_TREE" ]; then
		step "checking out the base into build/linux-base (for comparisons)"
		git -C "$LINUX" worktree prune
		git -C "$LINUX" worktree add -q --detach "$BASE_TREE" base
	fi
}

# analysis_make SIDE FLAVOUR ARGS...: make in the base worktree with its own
# output dir, or in build/linux with the test kernel's output dir.
analysis_make() {
	local side=$1 flavour=$2 src out arch
	shift 2
	arch=$(flavour_arch "$flavour")
	if [ "$side" = base ]; then
		src=$BASE_TREE out=$BUILD/analysis-base-$flavour
		if [ ! -f "$out/.config" ]; then
			mkdir -p "$out"
			cp "$BUILD/kernel-$flavour/.config" "$out/.config"
		fi
	else
		src=$LINUX out=$BUILD/kernel-$flavour
	fi
	local cross=()
	[ "$arch" = arm64 ] && cross=(CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc")
	[ "$arch" = arm64 ] || cross=(CC="ccache gcc")
	make -C "$src" O="$out" ARCH="$arch" -j"$JOBS" HOSTCC="ccache gcc" "${cross[@]}" "$@"
}

# Warnings as "path: message", without line numbers or tree prefixes, so
# that base and series can be compared line by line.
normalise_warnings() {
	sed -nE 's#^(\.\./)*([^ :]*/)?(linux|linux-base)/##; s#^([^: ]+):[0-9]+(:[0-9]+)?: (warning|error): (.*)#\1: \3: \4#p' |
		sed -E 's/ \[-W[^]]*\]$//' | sort
}

# analyse SIDE: sparse and W=1 over the analysed files; coccinelle too.
analyse() {
	local side=$1 f flavour src log=$LOGS/analysis-$1.log
	: >"$log"
	[ "$side" = base ] && src=$BASE_TREE || src=$LINUX
	for f in $(analysed_files); do
		[ -f "$src/$f" ] || continue
		flavour=$(file_flavour "$f")
		if [ ! -f "$BUILD/kernel-$flavour/${f%.c}.o" ]; then
			echo "not-built: $f" >>"$log"
			continue
		fi
		if [ "$side" = base ] && [ ! -f "$BUILD/analysis-base-$flavour/include/generated/autoconf.h" ]; then
			analysis_make base "$flavour" olddefconfig prepare >>"$LOGS/analysis-prepare.log" 2>&1 ||
				{ echo "prepare of the base failed: see $LOGS/analysis-prepare.log"; return 1; }
		fi
		# W=1 changes the command line, so kbuild really recompiles.
		analysis_make "$side" "$flavour" W=1 C=2 CHECK="$BUILD/sparse" "${f%.c}.o" >"$log.one" 2>&1 ||
			{ cat "$log.one"; echo "analysis build of $f failed"; return 1; }
		if grep -q 'not available or not up to date' "$log.one" || ! grep -q "CHECK .*$f" "$log.one"; then
			cat "$log.one"
			echo "sparse did not run on $f"
			return 1
		fi
		cat "$log.one" >>"$log"
		(cd "$src" && env C=2 MODE=report srctree=. scripts/coccicheck "$f") 2>&1 |
			grep -E '^[^ ]+:[0-9]+' | sed -E 's/^([^:]+):([0-9]+):[-0-9]*:? /\1:\2:0: warning: coccinelle: /' >>"$log" || true
	done
	rm -f "$log.one"
	normalise_warnings <"$log" >"$LOGS/warnings-$side.txt"
}

check_static_analysis() {
	local new
	ensure_base_tree_checkout
	analyse base || return 1
	analyse series || return 1
	new=$(comm -13 "$LOGS/warnings-base.txt" "$LOGS/warnings-series.txt")
	echo "analysed: $(analysed_files | tr '\n' ' ')"
	echo "base: $(wc -l <"$LOGS/warnings-base.txt") warnings, series: $(wc -l <"$LOGS/warnings-series.txt")"
	grep '^not-built' "$LOGS/analysis-series.log" || true
	[ -z "$new" ] && return 0
	echo "new warnings (sparse, W=1, coccinelle):"
	echo "$new"
	return 1
}

check_shellcheck() {
	shellcheck -x --severity=warning "$TOP"/scripts/*.sh "$TOP"/.ci/run
	shellcheck -s sh --severity=warning "$TOP"/tests/guest/init "$TOP"/tests/guest/*.sh
}

# ---- guests --------------------------------------------------------------

# Boot limits (seconds): TCG is slow and KASAN slower; a hung guest is killed.
GUEST_LIMIT=${GUEST_LIMIT:-600}

check_guests() {
	local ok_x86=1 ok_debug=1 ok_arm64=1
	gate build.x86 "$TOP/scripts/kernel.sh" x86 || true
	[ -f "$(kernel_image x86)" ] || ok_x86=0
	gate build.kselftests build_kselftests
	gate build.x86-debug "$TOP/scripts/kernel.sh" x86-debug
	[ -f "$(kernel_image x86-debug)" ] || ok_debug=0
	gate build.arm64 "$TOP/scripts/kernel.sh" arm64
	[ -f "$(kernel_image arm64)" ] || ok_arm64=0
	[ -x "$BUILD/kselftest/iommu/iommufd" ] || { ok_x86=0; ok_debug=0; }

	if [ $ok_x86 = 1 ]; then
		run_guest x86-legacy x86-legacy x86 pci-reset,iommufd "$GUEST_LIMIT"
		run_guest x86-scalable x86-scalable x86 pci-reset "$GUEST_LIMIT"
	else
		record fail guests.x86 "no x86 kernel or kselftests: see the build failures above"
	fi
	if [ $ok_debug = 1 ]; then
		run_guest x86-debug x86-legacy x86-debug debug,pci-reset,iommufd,leaks "$GUEST_LIMIT"
	else
		record fail guests.x86-debug "no x86-debug kernel: see the build failure above"
	fi
	if [ $ok_arm64 = 1 ]; then
		run_guest arm64 arm64 arm64 pci-reset "$GUEST_LIMIT"
		echo arm-smmu-v3-kunit-test >"$GUESTS/arm64/expect-kunit"
	else
		record fail guests.arm64 "no arm64 kernel: see the build failure above"
	fi
}

# ---- main ----------------------------------------------------------------

main() {
	rm -rf "$RESULTS_DIR" "${GUESTS:?}"/*/
	mkdir -p "$RESULTS_DIR"
	: >"$HOST_KTAP"
	step "make check: installing what is missing, fetching the base"
	if ! "$TOP/scripts/deps.sh" all; then
		record fail setup.dependencies "scripts/deps.sh failed (see above)"
		finish
	fi
	if ! "$TOP/scripts/tree.sh"; then
		record fail setup.kernel_tree "scripts/tree.sh failed (see above)"
		finish
	fi
	step "series gates"
	check_series_applies
	check_checkpatch
	gate series.cover_letter check_cover_letter
	gate tooling.shellcheck check_shellcheck
	step "per-patch builds"
	check_bisect
	step "test kernels and guests"
	check_guests
	step "builds with the IOMMU API, then PCI ATS, configured out"
	check_config_stubs
	step "static analysis against the base (sparse, W=1, coccinelle)"
	gate static_analysis check_static_analysis
	finish
}

main "$@"
