#!/usr/bin/env bash
# make bench: what the series costs, measured against the base in one run.
# Builds the same config (configs/bench.config: DMA map benchmark, no fault
# injection) from the base and from the series, and boots them alternately,
# BENCH_ROUNDS times base-a, series, base-b, base-shifted (the base with its
# text moved, tests/bench/shift-text.patch), in an order that turns each
# round, on q35 + VT-d with caching mode off and on (on: a map invalidates
# too):
#   dma_map_us, dma_unmap_us  the kernel's dma_map_benchmark on an ATS device,
#                             strict invalidation (each unmap invalidates its
#                             device TLB)
#   flr_ms                    time of an FLR through sysfs
# and, each round, the test kernel (series with its fault injection):
#   fence_ms                  VT-d handling an (injected) Invalidation
#                             Time-out Error -> the device fenced off, inside
#                             the invalidation that timed out
#   quarantine_ms             the same -> core logging the device blocked
#   recovery_ms               start of the FLR -> first read done after it
# BENCH_CLOCK=icount (the default): the guests' clock counts instructions
# (QEMU -icount shift=BENCH_ICOUNT_SHIFT,sleep=off: 2^shift ns each, idle
# time skipped, one guest CPU), so a DMA figure is guest work, whatever the
# host's load or TCG's code layout; the DMA benchmark truncates each map to
# 100 ns, so the shift makes one map last many of them. An FLR is mostly
# the sleeps the PCI spec asks for, which the clock skips to timer
# deadlines: its figure moves by those steps, not by the code it runs. BENCH_CLOCK=wall: the host's
# clock, as a machine would see it under TCG. scripts/bench-report.py
# compares, with confidence intervals; raw samples, the table and every
# console stay in build/bench/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_CLOCK=${BENCH_CLOCK:-icount}
BENCH_ICOUNT_SHIFT=${BENCH_ICOUNT_SHIFT:-5}
BENCH_MACHINES=${BENCH_MACHINES:-x86-legacy x86-legacy-cm}
BENCH=$BUILD/bench

[[ "$BENCH_ROUNDS" =~ ^[0-9]+$ ]] && [ "$BENCH_ROUNDS" -ge 3 ] ||
	die "BENCH_ROUNDS=$BENCH_ROUNDS: say 3 rounds or more (an interval needs 3 boots a kernel), e.g. BENCH_ROUNDS=5"
[[ "$BENCH_ICOUNT_SHIFT" =~ ^[0-9]$ ]] ||
	die "BENCH_ICOUNT_SHIFT=$BENCH_ICOUNT_SHIFT: say 0 to 9 (a guest instruction lasts 2^shift ns)"
[ -n "${BENCH_MACHINES// /}" ] || die "BENCH_MACHINES is empty: say some of: x86-legacy x86-legacy-cm x86-scalable"
for machine in $BENCH_MACHINES; do
	[[ "$machine" =~ ^x86-(legacy|legacy-cm|scalable)$ ]] ||
		die "BENCH_MACHINES: no x86 machine '$machine'; say some of: x86-legacy x86-legacy-cm x86-scalable"
	[ "$(tr ' ' '\n' <<<"$BENCH_MACHINES" | grep -cx "$machine")" -eq 1 ] ||
		die "BENCH_MACHINES names $machine twice: say each machine once"
done
case "$BENCH_CLOCK" in
icount) QEMU_ICOUNT=shift=$BENCH_ICOUNT_SHIFT,sleep=off ;;
wall) unset QEMU_ICOUNT ;;
*) die "BENCH_CLOCK=$BENCH_CLOCK: say BENCH_CLOCK=icount (instructions) or BENCH_CLOCK=wall (the host's clock)" ;;
esac

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
build x86-bench
build x86-bench-base
build x86-bench-base-shifted
# The same configuration, so that only the code differs: a default or a
# select the series added would show here.
for flavour in x86-bench x86-bench-base x86-bench-base-shifted; do
	[ -f "$(kernel_out "$flavour")/.config" ] || die "no $(kernel_out "$flavour")/.config after its build"
done
for flavour in x86-bench-base x86-bench-base-shifted; do
	diff <(grep '^CONFIG_' "$(kernel_out x86-bench)/.config") <(grep '^CONFIG_' "$(kernel_out "$flavour")/.config") ||
		die "kernel-x86-bench and kernel-$flavour differ in configuration (above): the comparison would not be fair"
done
build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
rm -rf "$BENCH" && mkdir -p "$BENCH"
{
	if [ "$BENCH_CLOCK" = icount ]; then
		echo "# clock: icount $QEMU_ICOUNT, 1 guest CPU: a guest instruction is $((1 << BENCH_ICOUNT_SHIFT)) ns, idle time skipped"
	else
		echo "# clock: wall, the host's, 2 guest CPUs under TCG on $(nproc) host CPUs"
	fi
	echo "# machines: $BENCH_MACHINES"
	printf 'round\tmachine\tkernel\tmetric\tvalue\n'
} >"$BENCH/samples.tsv"

# bench_boot ROUND MACHINE LABEL FLAVOUR MODE EXTRA_DISKS: one boot, its
# samples appended to samples.tsv; a step that failed stops the benchmark.
bench_boot() {
	local round=$1 machine=$2 label=$3 flavour=$4 mode=$5 extra_disks=$6 name=bench-$1-$2-$3
	run_guest "$name" "$machine" "$flavour" bench 600 "ktest.bench=$mode" "$extra_disks"
	cp -r "$GUESTS/$name" "$BENCH/"
	if ! grep -q '^ok ' "$GUESTS/$name/results.ktap" || grep -q '^not ok' "$GUESTS/$name/results.ktap"; then
		tail -n 30 "$GUESTS/$name/results.ktap"
		die "the $label boot on $machine of round $round failed: see build/bench/$name/"
	fi
	# The console ends its lines with CR LF.
	tr -d '\r' <"$GUESTS/$name/results.ktap" | grep '^# bench: ' >"$BENCH/$name.lines" || true
	sed -n "s/^# bench: \([a-z_]*\) \(-\{0,1\}[0-9][0-9.]*\)$/$round\t$machine\t$label\t\1\t\2/p" \
		"$BENCH/$name.lines" >"$BENCH/$name.tsv"
	[ -s "$BENCH/$name.tsv" ] || die "the $label boot on $machine of round $round gave no samples: see build/bench/$name/"
	[ "$(wc -l <"$BENCH/$name.tsv")" -eq "$(wc -l <"$BENCH/$name.lines")" ] ||
		die "the $label boot on $machine of round $round printed samples that are not numbers: see build/bench/$name.lines"
	cat "$BENCH/$name.tsv" >>"$BENCH/samples.tsv"
}

# LABEL:FLAVOUR of the boots of a round that measure the fast path.
FAST_PATH_BOOTS=(base-a:x86-bench-base series:x86-bench base-b:x86-bench-base base-shifted:x86-bench-base-shifted)
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
	step "bench round $round of $BENCH_ROUNDS"
	# The order turns each round, so that no kernel always boots first.
	for machine in $BENCH_MACHINES; do
		for ((i = 0; i < ${#FAST_PATH_BOOTS[@]}; i++)); do
			boot=${FAST_PATH_BOOTS[(i + round - 1) % ${#FAST_PATH_BOOTS[@]}]}
			bench_boot "$round" "$machine" "${boot%%:*}" "${boot#*:}" fastpath 1
		done
	done
	bench_boot "$round" x86-legacy series-fi x86 quarantine 0
done
rc=0
python3 "$TOP/scripts/bench-report.py" "$BENCH/samples.tsv" >"$BENCH/table.md" || rc=$?
cat "$BENCH/table.md"
step "raw samples: build/bench/samples.tsv; table: build/bench/table.md"
exit "$rc"
