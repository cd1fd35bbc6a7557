#!/usr/bin/env bash
# make bench: what the series costs, measured against the base in one run.
# Builds the same config (configs/bench.config: DMA map benchmark, no fault
# injection) from the base and from the series, and boots them alternately,
# BENCH_ROUNDS times base-a, series, base-b, base-shifted (the base with its
# text moved, tests/bench/shift-text.patch), in an order that turns each
# round, on the q35 + VT-d machine:
#   dma_map_us, dma_unmap_us  the kernel's dma_map_benchmark on an ATS device,
#                             strict invalidation (each unmap invalidates its
#                             device TLB)
#   flr_ms                    wall time of an FLR through sysfs
# and, each round, the test kernel (series with its fault injection):
#   fence_ms                  VT-d handling an (injected) Invalidation
#                             Time-out Error -> the device fenced off, inside
#                             the invalidation that timed out
#   quarantine_ms             the same -> core logging the device blocked
#   recovery_ms               start of the FLR -> first read done after it
# The spread of the base's own boots is the noise of a boot; base-shifted
# against the base is what moving the code alone changes under TCG; the
# noise floor is the larger of the two (scripts/bench-report.py). Raw
# samples, the table and every console stay in build/bench/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH=$BUILD/bench

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
build x86-bench
build x86-bench-base
build x86-bench-base-shifted
build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
rm -rf "$BENCH" && mkdir -p "$BENCH"
printf 'round\tkernel\tmetric\tvalue\n' >"$BENCH/samples.tsv"

# bench_boot ROUND LABEL FLAVOUR MODE EXTRA_DISKS: one boot, its samples
# appended to samples.tsv; a step that failed stops the benchmark.
bench_boot() {
	local round=$1 label=$2 flavour=$3 mode=$4 extra_disks=$5 name=bench-$1-$2
	run_guest "$name" x86-legacy "$flavour" bench 300 "ktest.bench=$mode" "$extra_disks"
	cp -r "$GUESTS/$name" "$BENCH/"
	if ! grep -q '^ok ' "$GUESTS/$name/results.ktap" || grep -q '^not ok' "$GUESTS/$name/results.ktap"; then
		tail -n 30 "$GUESTS/$name/results.ktap"
		die "the $label boot of round $round failed: see build/bench/$name/"
	fi
	# The console ends its lines with CR LF.
	tr -d '\r' <"$GUESTS/$name/results.ktap" |
		sed -n "s/^# bench: \([a-z_]*\) \([0-9.]*\)$/$round\t$label\t\1\t\2/p" >"$BENCH/$name.tsv"
	[ -s "$BENCH/$name.tsv" ] || die "the $label boot of round $round gave no samples: see build/bench/$name/"
	cat "$BENCH/$name.tsv" >>"$BENCH/samples.tsv"
}

# LABEL:FLAVOUR of the boots of a round that measure the fast path.
FAST_PATH_BOOTS=(base-a:x86-bench-base series:x86-bench base-b:x86-bench-base base-shifted:x86-bench-base-shifted)
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	step "bench round $round of $BENCH_ROUNDS"
	# The order turns each round, so that no kernel always boots first.
	for ((i = 0; i < ${#FAST_PATH_BOOTS[@]}; i++)); do
		boot=${FAST_PATH_BOOTS[(i + round - 1) % ${#FAST_PATH_BOOTS[@]}]}
		bench_boot "$round" "${boot%%:*}" "${boot#*:}" fastpath 1
	done
	bench_boot "$round" series-fi x86 quarantine 0
done
python3 "$TOP/scripts/bench-report.py" "$BENCH/samples.tsv" | tee "$BENCH/table.txt"
step "raw samples: build/bench/samples.tsv; table: build/bench/table.txt"
