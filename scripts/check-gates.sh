# shellcheck shell=bash
# The gates of make check on the series and the tooling: it applies, it is
# the tree that was built, checkpatch, the cover letter, the standalone
# fixes, shellcheck, the tooling's tests. Sourced by scripts/check.sh.

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

check_shellcheck() {
	# Both run, and either one fails the gate (set -e is off in a gate).
	local rc=0
	(cd "$TOP" && shellcheck -x --severity=warning scripts/*.sh .ci/run) || rc=1
	(cd "$TOP" && shellcheck -x -s dash --severity=warning tests/guest/init tests/guest/*.sh) || rc=1
	return $rc
}

# The tooling's own tests (tests/tooling: results.py, the verdict; the
# warning comparison, the per-patch config check and make figures;
# bench-report.py, the benchmark's table), with Debian's pytest: the
# interpreter deps.sh installs it for.
check_tooling_tests() {
	(cd "$TOP" && /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/tooling)
}

series_gates() {
	check_series_applies
	gate series.standalone_fixes check_standalone_fixes || true
	check_checkpatch
	gate series.cover_letter check_cover_letter || true
	gate tooling.shellcheck check_shellcheck || true
	gate tooling.tests check_tooling_tests || true
}
