# shellcheck shell=bash
# The analysis of make check: sparse, W=1, coccinelle, and the documentation
# tools (kernel-doc, ABI validation, Sphinx) add no warning on what the series
# touches, compared with the base. Sourced by scripts/check.sh.

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
# that base and series can be compared line by line.
normalise_warnings() {
	sed -nE 's#^(\.\./)*([^ :]*/)?linux/##; s#^([^: ]+):[0-9]+(:[0-9]+)?: (warning|error): (.*)#\1: \3: \4#p' |
		sed -E 's/ \[-W[^]]*\]$//'
}

# count_warnings: warning lines on stdin as "warning<TAB>how many times".
# Counted, not made unique: a second copy of a message the base already has
# in the same .c file ("different address spaces", "set but not used") is
# new. A header's are counted once: sparse repeats an inline function's
# warning at each of its uses (seen: arm_smmu_invs_alloc()'s "unreplaced
# symbol" once more for one more caller), and compilers once per includer.
count_warnings() {
	sort | uniq -c | sed -E 's/^ *([0-9]+) (.*)$/\2\t\1/' |
		awk -F '\t' 'BEGIN { OFS = "\t" } $1 ~ /^[^: ]+\.h: / { $2 = 1 } { print }'
}

# new_warnings BASE SERIES: the warnings SERIES (count_warnings' output) has
# more often than BASE, with both counts. (By file name, not NR == FNR: an
# empty BASE must not turn SERIES into the base.)
new_warnings() {
	awk -F '\t' 'FILENAME == ARGV[1] { base[$1] = $2; next }
		$2 > base[$1] + 0 { printf "%s (base %d, series %d)\n", $1, base[$1], $2 }' "$1" "$2"
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
	# Coccinelle's report mode takes the files as one argument. spatch
	# 1.1.1 overflows the default 8 MiB stack on deref_null.cocci with
	# all of them in one run (each file alone passes), hence no limit.
	cocci=$(cd "$src" && ulimit -s unlimited &&
		env C=2 MODE=report srctree=. scripts/coccicheck "${files[*]}" 2>&1) ||
		{ echo "$cocci"; echo "coccicheck failed"; return 1; }
	echo "$cocci" | grep -E '^[^ ]+:[0-9]+' |
		sed -E 's/^([^:]+):([0-9]+):[-0-9]*:? /\1:\2:0: warning: coccinelle: /' >>"$log" || true
	rm -f "$log.one"
	normalise_warnings <"$log" | count_warnings >"$LOGS/warnings-$side.txt"
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
		cat "$BUILD/kernel-x86/.config" "$BUILD/kernel-arm64/.config" "${BASH_SOURCE[0]}"
		gcc --version | head -n 1
		aarch64-linux-gnu-gcc --version | head -n 1
		"$BUILD/sparse" --version
		spatch --version 2>&1 | head -n 1
		sphinx-build --version 2>&1
		python3 --version 2>&1
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
	# Whole or not at all: clones share the cache.
	cp "$output" "$kept.$$" && mv "$kept.$$" "$kept"
}

# total_warnings FILE: how many warnings count_warnings' FILE holds.
total_warnings() {
	awk -F '\t' '{ n += $2 } END { print n + 0 }' "$1"
}

check_static_analysis() {
	local new
	ensure_base_tree_checkout || return 1
	cached_base_side analysis "$LOGS/warnings-base.txt" analyse base || return 1
	analyse series || return 1
	new=$(new_warnings "$LOGS/warnings-base.txt" "$LOGS/warnings-series.txt")
	echo "analysed: $(analysed_files | tr '\n' ' ')"
	echo "base: $(total_warnings "$LOGS/warnings-base.txt") warnings, series: $(total_warnings "$LOGS/warnings-series.txt")"
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
	local side=$1 src f dirs abi out=$BUILD/docs-$1 kdoc
	[ "$side" = base ] && src=$BASE_TREE || src=$LINUX
	# Not a pipeline: a kernel-doc that fails must fail this function.
	for f in $(git -C "$LINUX" diff --name-only base..HEAD -- '*.c' '*.h' | grep -v '^tools/'); do
		[ -f "$src/$f" ] || continue
		kdoc=$(cd "$src" && scripts/kernel-doc -none -Wall "$f" 2>&1) ||
			{ echo "$kdoc" | tail -n 20 >&2; echo "kernel-doc failed on $f ($side)" >&2; return 1; }
		[ -z "$kdoc" ] || echo "$kdoc" | sed -E 's/^(((Warning|Error|Info): )?[^ ]+):[0-9]+:? /\1: /'
	done
	# Its messages name other ABI files with line numbers ("file:NNN").
	abi=$(cd "$src" && python3 tools/docs/get_abi.py -D Documentation/ABI validate 2>&1) ||
		{ echo "$abi" >&2; echo "ABI validation failed" >&2; return 1; }
	[ -z "$abi" ] || echo "$abi" | sed -E 's/:[0-9]+([ ;,]|$)/\1/g'
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
		sed -E 's#[^ :;]*/linux/##g; s/:[0-9]+([:;]|$)/\1/g'
	return 0
}

# docs_counted_warnings SIDE: docs_warnings, counted (count_warnings).
docs_counted_warnings() {
	local lines
	lines=$(docs_warnings "$1") || return 1
	[ -z "$lines" ] || echo "$lines" | count_warnings
}

docs_base_warnings() {
	docs_counted_warnings base >"$LOGS/docs-warnings-base.txt"
}

check_docs() {
	local new
	ensure_base_tree_checkout || return 1
	cached_base_side docs "$LOGS/docs-warnings-base.txt" docs_base_warnings || return 1
	docs_counted_warnings series >"$LOGS/docs-warnings-series.txt" || return 1
	echo "base: $(total_warnings "$LOGS/docs-warnings-base.txt") warnings, series: $(total_warnings "$LOGS/docs-warnings-series.txt")"
	new=$(new_warnings "$LOGS/docs-warnings-base.txt" "$LOGS/docs-warnings-series.txt")
	[ -z "$new" ] && return 0
	echo "new documentation warnings (kernel-doc, ABI, Sphinx):"
	echo "$new"
	return 1
}

static_analysis() {
	gate static_analysis check_static_analysis || true
}

documentation() {
	gate docs.no_new_warnings check_docs || true
}
