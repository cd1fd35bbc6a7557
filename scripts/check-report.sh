# shellcheck shell=bash
# How make check records and reports results: one KTAP line per result in
# build/results/host.ktap (guests write their own), each stage's time in
# build/results/stage-times.tsv, and the summary of scripts/results.py.
# Sourced by scripts/check.sh.

RESULTS_DIR=$BUILD/results
HOST_KTAP=$RESULTS_DIR/host.ktap
STAGE_TIMES=$RESULTS_DIR/stage-times.tsv

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

# stage NAME FUNCTION [ARGS...]: run one stage of the check, timed; if it
# aborts (an error its own checks did not catch), record that and go on.
stage() {
	local rc t0=$SECONDS
	step "$1"
	# Not "( ... ) || ...": that would turn set -e off inside the stage.
	set +e
	(
		set -e
		"${@:2}"
	)
	rc=$?
	set -e
	printf '%s\t%s\n' "$1" "$((SECONDS - t0))" >>"$STAGE_TIMES"
	[ $rc -eq 0 ] || record fail "$2.aborted" "the stage '$1' stopped early (exit $rc); see the output above"
}

# finish [SUBSET]: the summary, whose last line is the verdict.
finish() {
	local rc=0
	step "results (logs: build/logs; guest consoles: build/guests/*/console.log)"
	rm -f "$RESULTS_DIR/figures.md"
	python3 "$TOP/scripts/results.py" "$BUILD" ${1:+--subset "$1"} --figures "$RESULTS_DIR/figures.md.run" \
		>"$RESULTS_DIR/summary.txt" || rc=$?
	# The figures, for make figures, only from a results.py that wrote them.
	if [ -s "$RESULTS_DIR/figures.md.run" ]; then
		{
			echo "\`make check\` on $(date -u +%Y-%m-%d), tooling at $(git -C "$TOP" describe --always --dirty)," \
				"series at $(git -C "$LINUX" describe --always --tags --dirty 2>/dev/null), $(nproc) cores:"
			echo
			cat "$RESULTS_DIR/figures.md.run"
		} >"$RESULTS_DIR/figures.md"
	fi
	rm -f "$RESULTS_DIR/figures.md.run"
	cat "$RESULTS_DIR/summary.txt"
	exit "$rc"
}
