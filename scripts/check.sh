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

# record pass|fail|skip NAME [DETAIL_FILE|REASON]
record() {
	local status=$1 name=$2 detail=${3:-} n
	# Numbered from the file, so that subshells can record too.
	n=$(grep -c '^\(not \)\?ok ' "$HOST_KTAP" || true)
	n=$((n + 1))
	case "$status" in
	pass) echo "ok $n $name" ;;
	skip) echo "ok $n $name # SKIP $detail" ;;
	*)
		if [ -f "$detail" ]; then
			tail -n 40 "$detail" | sed 's/^/# /'
		elif [ -n "$detail" ]; then
			echo "# $detail"
		fi
		echo "not ok $n $name"
		;;
	esac >>"$HOST_KTAP"
	[ "$status" = fail ] && step "FAILED: $name${detail:+ ($detail)}"
	return 0
}

# gate NAME COMMAND...: run COMMAND in a subshell (so that die() in it ends
# only this check) with its output in build/logs/gate-NAME.log; returns
# COMMAND's status. Inside, set -e is off (an if condition): commands
# check their own errors.
gate() {
	local name=$1 log=$LOGS/gate-$1.log
	shift
	if ("$@") >"$log" 2>&1; then
		record pass "$name"
	else
		record fail "$name" "$log"
		return 1
	fi
}

# stage NAME FUNCTION: run one stage of the check; if it aborts (an error
# its own checks did not catch), record that and go on with the next one.
stage() {
	local rc
	step "$1"
	# Not "( ... ) || ...": that would turn set -e off inside the stage.
	set +e
	(
		set -e
		"$2"
	)
	rc=$?
	set -e
	[ $rc -eq 0 ] || record fail "$2.aborted" "the stage '$1' stopped early (exit $rc); see the output above"
}

finish() {
	local rc=0
	step "results (logs: build/logs; guest consoles: build/guests/*/console.log)"
	python3 "$TOP/scripts/results.py" "$BUILD" >"$RESULTS_DIR/summary.txt" || rc=$?
	cat "$RESULTS_DIR/summary.txt"
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
		# Same tree, and the commits (messages too) are the ones exported.
		if [ "$want" = "$have" ] && [ "$(series_hash) $(git -C "$LINUX" rev-parse HEAD)" = "$(cat "$SERIES_STATE")" ]; then
			record pass series.matches_build_tree
		else
			record fail series.matches_build_tree \
				"build/linux differs from base + series/: run 'make export' (or re-apply series/)"
		fi
	fi
	rm -f "$index"
}

# patch_subject PATCH: its subject, unfolded, without "[PATCH n/m] ".
patch_subject() {
	awk '/^Subject: / { s = $0; f = 1; next } f && /^ / { s = s $0; next } { f = 0 } END { print s }' "$1" |
		sed -E 's/^Subject: (\[PATCH[^]]*\] )?//'
}

# patch_without_subject PATCH: the patch without its (folded) Subject header.
patch_without_subject() {
	awk '/^Subject: / { f = 1; next } f && /^ / { next } { f = 0; print }' "$1"
}

# series/fixes/: the first patches of the series, sent on their own, apply
# to the base by themselves and are those of series/ (numbering aside).
check_standalone_fixes() {
	local index=$BUILD/fixes-check.index p main n=0 cover=$SERIES/fixes/0000-cover-letter.patch
	[ -f "$cover" ] || { echo "no $cover: run make export"; return 1; }
	rm -f "$index"
	GIT_INDEX_FILE=$index git -C "$LINUX" read-tree base
	for p in "$SERIES"/fixes/[0-9][0-9][0-9][0-9]-*.patch; do
		[ "${p##*/}" = 0000-cover-letter.patch ] && continue
		n=$((n + 1))
		GIT_INDEX_FILE=$index git -C "$LINUX" apply --cached "$p" ||
			{ echo "${p#"$TOP"/} does not apply to the base after the fixes before it"; return 1; }
		main=$(series_patches | sed -n "${n}p")
		cmp -s <(patch_without_subject "$p") <(patch_without_subject "$main") ||
			{ echo "${p#"$TOP"/} differs from ${main#"$TOP"/}: run make export"; return 1; }
		grep -qF "$(patch_subject "$p")" "$cover" ||
			{ echo "$cover does not list ${p##*/}"; return 1; }
	done
	rm -f "$index"
	echo "$n standalone fixes apply to the base on their own"
	[ "$n" -gt 0 ]
}

# checkpatch --strict: nothing but UNKNOWN_COMMIT_ID (the Debian tree has
# no history to look commit ids up in).
checkpatch_one() {
	local out rc=0
	out=$(cd "$LINUX" && ./scripts/checkpatch.pl --strict --show-types --terse "$1") || rc=$?
	echo "$out"
	# Clean: exit 0 (and, with --terse, no output at all).
	[ "$rc" -eq 0 ] && return 0
	echo "$out" | grep -q '^total: .* lines checked' || { echo "checkpatch did not run (exit $rc)"; return 1; }
	! echo "$out" | grep -E '(ERROR|WARNING|CHECK):' | grep -qv 'UNKNOWN_COMMIT_ID'
}

check_checkpatch() {
	local p
	for p in $(series_patches); do
		gate "checkpatch.$(basename "$p" .patch)" checkpatch_one "$p" || true
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
	local commits c n=0 name head
	commits=$(git -C "$LINUX" rev-list --reverse base..HEAD)
	[ -n "$commits" ] || { record pass bisect.empty_series; return 0; }
	head=$(git -C "$LINUX" symbolic-ref -q --short HEAD || git -C "$LINUX" rev-parse HEAD)
	# Back where it was whatever happens (the tree was clean: tree.sh).
	trap 'git -C "$LINUX" checkout -q "$head"' EXIT
	for c in $commits; do
		n=$((n + 1))
		name=$(printf '%04d-%s' "$n" "$(git -C "$LINUX" log -1 --format=%f "$c" | cut -c1-52)")
		git -C "$LINUX" checkout -q --detach "$c"
		gate "bisect.$name.x86" env BISECT_BUILD=1 "$TOP/scripts/kernel.sh" x86 || true
		if touches_arm64 "$c"; then
			gate "bisect.$name.arm64" env BISECT_BUILD=1 "$TOP/scripts/kernel.sh" arm64 || true
		fi
	done
	git -C "$LINUX" checkout -q "$head"
	trap - EXIT
}

# Builds with the IOMMU API or PCI ATS configured out: the stubs compile.
check_config_stubs() {
	gate build.x86-no-iommu-api "$TOP/scripts/kernel.sh" x86-no-iommu-api || true
	gate build.x86-no-pci-ats "$TOP/scripts/kernel.sh" x86-no-pci-ats || true
}

# ---- static analysis: nothing new compared with the base -----------------

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

# analysis_make SIDE FLAVOUR ARGS...: make in the base worktree with its own
# output dir, or in build/linux with the test kernel's output dir.
analysis_make() {
	local side=$1 flavour=$2 src out arch
	shift 2
	arch=$(flavour_arch "$flavour")
	if [ "$side" = base ]; then
		src=$BASE_TREE out=$BUILD/analysis-base-$flavour
		mkdir -p "$out"
		cmp -s "$BUILD/kernel-$flavour/.config" "$out/.config" ||
			cp "$BUILD/kernel-$flavour/.config" "$out/.config"
	else
		src=$LINUX out=$BUILD/kernel-$flavour
	fi
	local cross=()
	[ "$arch" = arm64 ] && cross=(CROSS_COMPILE=aarch64-linux-gnu- CC="ccache aarch64-linux-gnu-gcc")
	[ "$arch" = arm64 ] || cross=(CC="ccache gcc")
	make -C "$src" O="$out" ARCH="$arch" -j"$JOBS" HOSTCC="ccache gcc" "${cross[@]}" "$@"
}

# Warnings as "path: message", without line numbers or tree prefixes, so
# that base and series can be compared line by line; each once (how often
# a header's warning repeats depends on which files include it).
normalise_warnings() {
	sed -nE 's#^(\.\./)*([^ :]*/)?linux/##; s#^([^: ]+):[0-9]+(:[0-9]+)?: (warning|error): (.*)#\1: \3: \4#p' |
		sed -E 's/ \[-W[^]]*\]$//' | sort -u
}

# analyse SIDE: sparse, W=1 and coccinelle over the analysed files. Each
# of them must really run; a file no test kernel builds is a failure. One
# make per flavour and one coccicheck for all the files: each invocation
# costs more than a file does.
analyse() {
	local side=$1 f flavour src out log=$LOGS/analysis-$1.log cocci files=()
	: >"$log"
	[ "$side" = base ] && src=$BASE_TREE || src=$LINUX
	for f in $(analysed_files); do
		[ -f "$src/$f" ] || continue
		if [ ! -f "$BUILD/kernel-$(file_flavour "$f")/${f%.c}.o" ]; then
			echo "$f: no test kernel builds it; add it to a config in configs/"
			return 1
		fi
		files+=("$f")
	done
	for flavour in x86 arm64; do
		local objs=()
		for f in "${files[@]}"; do
			[ "$(file_flavour "$f")" = "$flavour" ] && objs+=("${f%.c}.o")
		done
		[ ${#objs[@]} -gt 0 ] || continue
		[ "$side" = base ] && out=$BUILD/analysis-base-$flavour || out=$BUILD/kernel-$flavour
		analysis_make "$side" "$flavour" olddefconfig prepare >>"$LOGS/analysis-prepare.log" 2>&1 ||
			{ echo "make prepare failed for the $side side: see $LOGS/analysis-prepare.log"; return 1; }
		# Compile for real, so that W=1 warnings show on both sides.
		(cd "$out" && rm -f "${objs[@]}")
		analysis_make "$side" "$flavour" W=1 C=2 CHECK="$BUILD/sparse" "${objs[@]}" >"$log.one" 2>&1 ||
			{ cat "$log.one"; echo "analysis build ($side, $flavour) failed"; return 1; }
		grep -q 'not available or not up to date' "$log.one" && { cat "$log.one"; echo "sparse did not run"; return 1; }
		for f in "${objs[@]}"; do
			grep -q "CHECK .*${f%.o}.c" "$log.one" || { cat "$log.one"; echo "sparse did not run on ${f%.o}.c"; return 1; }
		done
		cat "$log.one" >>"$log"
	done
	# Coccinelle's report mode takes the files as one argument.
	cocci=$(cd "$src" && env C=2 MODE=report srctree=. scripts/coccicheck "${files[*]}" 2>&1) ||
		{ echo "$cocci"; echo "coccicheck failed"; return 1; }
	echo "$cocci" | grep -E '^[^ ]+:[0-9]+' |
		sed -E 's/^([^:]+):([0-9]+):[-0-9]*:? /\1:\2:0: warning: coccinelle: /' >>"$log" || true
	rm -f "$log.one"
	normalise_warnings <"$log" >"$LOGS/warnings-$side.txt"
}

# base_results_key NAME: names what a base-side run of NAME depends on (the
# base, the files, the test kernels' configs, the tools and this script), so
# that its result can be kept in the cache: the base never changes, and its
# side of the static analysis alone takes six minutes here.
base_results_key() {
	{
		echo "$1"
		cat "$LINUX/.git/base-version"
		analysed_files
		git -C "$LINUX" diff --name-only base..HEAD
		cat "$BUILD/kernel-x86/.config" "$BUILD/kernel-arm64/.config" "$TOP/scripts/check.sh"
		gcc --version | head -n 1
		aarch64-linux-gnu-gcc --version | head -n 1
		"$BUILD/sparse" --version
		spatch --version 2>&1 | head -n 1
		sphinx-build --version 2>&1
	} | sha256sum | cut -c1-16
}

# cached_base_side NAME OUTPUT COMMAND...: OUTPUT from the cache, or from
# COMMAND (then kept for the next run).
cached_base_side() {
	local name=$1 output=$2 kept
	shift 2
	kept=$CACHE/base-results/$name-$(base_results_key "$name")
	if [ -f "$kept" ]; then
		echo "$name, base side: from ${kept#"$HOME"/}"
		cp "$kept" "$output"
		return 0
	fi
	"$@" || return 1
	mkdir -p "$(dirname "$kept")"
	cp "$output" "$kept"
}

check_static_analysis() {
	local new
	ensure_base_tree_checkout || return 1
	cached_base_side analysis "$LOGS/warnings-base.txt" analyse base || return 1
	analyse series || return 1
	new=$(comm -13 "$LOGS/warnings-base.txt" "$LOGS/warnings-series.txt")
	echo "analysed: $(analysed_files | tr '\n' ' ')"
	echo "base: $(wc -l <"$LOGS/warnings-base.txt") warnings, series: $(wc -l <"$LOGS/warnings-series.txt")"
	[ -z "$new" ] && return 0
	echo "new warnings (sparse, W=1, coccinelle):"
	echo "$new"
	return 1
}

# ---- documentation: nothing new compared with the base -----------------

# docs_warnings SIDE: every warning of the documentation tools on what the
# series touches, as "file: message" lines without line numbers (kernel-doc
# writes "file:NNN message", older ones "file:NNN: message"): kernel-doc
# -Wall on the touched sources, the ABI files validated, and Sphinx on the
# touched Documentation/ directories (SPHINXDIRS). Each tool must run.
docs_warnings() {
	local side=$1 src f dirs abi out=$BUILD/docs-$1
	[ "$side" = base ] && src=$BASE_TREE || src=$LINUX
	for f in $(git -C "$LINUX" diff --name-only base..HEAD -- '*.c' '*.h' | grep -v '^tools/'); do
		[ -f "$src/$f" ] || continue
		(cd "$src" && scripts/kernel-doc -none -Wall "$f" 2>&1) ||
			{ echo "kernel-doc failed on $f" >&2; return 1; }
	done | sed -E 's/^(((Warning|Error|Info): )?[^ ]+):[0-9]+:? /\1: /' | sort -u
	# Its messages name other ABI files with line numbers ("file:NNN").
	abi=$(cd "$src" && python3 tools/docs/get_abi.py -D Documentation/ABI validate 2>&1) ||
		{ echo "$abi" >&2; echo "ABI validation failed" >&2; return 1; }
	[ -z "$abi" ] || echo "$abi" | sed -E 's/:[0-9]+([ ;,]|$)/\1/g' | sort -u
	dirs=$(git -C "$LINUX" diff --name-only base..HEAD -- Documentation/ |
		grep -v '^Documentation/ABI/' | cut -d/ -f2 | sort -u | tr '\n' ' ')
	[ -n "$dirs" ] || return 0
	rm -rf "$out"
	make -C "$src" O="$out" SPHINXDIRS="$dirs" htmldocs >"$LOGS/sphinx-$side.log" 2>&1 ||
		{ tail -n 30 "$LOGS/sphinx-$side.log" >&2; echo "Sphinx failed on $dirs ($side)" >&2; return 1; }
	# The kernel's wrapper hides Sphinx's own summary: check its output.
	for f in $(git -C "$LINUX" diff --name-only base..HEAD -- 'Documentation/*.rst' | grep -v '^Documentation/ABI/'); do
		[ -f "$src/$f" ] || continue
		f=${f#Documentation/}
		[ -f "$out/Documentation/output/${f%.rst}.html" ] ||
			{ echo "Sphinx did not write ${f%.rst}.html ($side)" >&2; return 1; }
	done
	# Paths inside the messages too: relative to the tree, no line numbers.
	grep -E 'WARNING|ERROR' "$LOGS/sphinx-$side.log" |
		sed -E 's#[^ :;]*/linux/##g; s/:[0-9]+([:;]|$)/\1/g' | sort -u
}

docs_base_warnings() {
	docs_warnings base >"$LOGS/docs-warnings-base.txt"
}

check_docs() {
	local new
	ensure_base_tree_checkout || return 1
	cached_base_side docs "$LOGS/docs-warnings-base.txt" docs_base_warnings || return 1
	docs_warnings series >"$LOGS/docs-warnings-series.txt" || return 1
	echo "base: $(wc -l <"$LOGS/docs-warnings-base.txt") warnings, series: $(wc -l <"$LOGS/docs-warnings-series.txt")"
	# comm needs one sorted list: each tool's lines are sorted on their own.
	new=$(comm -13 <(sort -u "$LOGS/docs-warnings-base.txt") <(sort -u "$LOGS/docs-warnings-series.txt"))
	[ -z "$new" ] && return 0
	echo "new documentation warnings (kernel-doc, ABI, Sphinx):"
	echo "$new"
	return 1
}

check_shellcheck() {
	shellcheck -x --severity=warning "$TOP"/scripts/*.sh "$TOP"/.ci/run
	shellcheck -s dash --severity=warning "$TOP"/tests/guest/init "$TOP"/tests/guest/*.sh
}

# ---- guests --------------------------------------------------------------

# The guests of tests/guests.tsv, each once, on the kernels that built.
check_guests() {
	local name flavour built=" " programs=1
	for flavour in $(guest_names | while read -r name; do guest_field "$name" 3; done | sort -u); do
		gate "build.$flavour" "$TOP/scripts/kernel.sh" "$flavour" && built+="$flavour "
	done
	# The x86 guests run the kselftests and tools built against kernel-x86
	gate build.guest_programs build_x86_guest_programs || programs=0
	for name in $(guest_names); do
		flavour=$(guest_field "$name" 3)
		if [[ $built != *" $flavour "* ]]; then
			record fail "guests.$name" "no kernel-$flavour: see its build failure above"
		elif [ "$(machine_arch "$(guest_field "$name" 2)")" = x86_64 ] && [ $programs = 0 ]; then
			record fail "guests.$name" "no x86 guest programs: see build.guest_programs above"
		else
			boot_guest "$name"
		fi
	done
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
	stage "series gates" series_gates
	stage "per-patch builds" check_bisect
	stage "test kernels and guests" check_guests
	stage "builds with the IOMMU API, then PCI ATS, configured out" check_config_stubs
	stage "static analysis against the base (sparse, W=1, coccinelle)" static_analysis
	stage "documentation against the base (kernel-doc, ABI, Sphinx)" documentation
	finish
}

series_gates() {
	check_series_applies
	gate series.standalone_fixes check_standalone_fixes || true
	check_checkpatch
	gate series.cover_letter check_cover_letter || true
	gate tooling.shellcheck check_shellcheck || true
}

static_analysis() {
	gate static_analysis check_static_analysis || true
}

documentation() {
	gate docs.no_new_warnings check_docs || true
}

main "$@"
