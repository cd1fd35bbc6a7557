# shellcheck shell=dash
# Suite bench (make bench): measurements, one "# bench: METRIC VALUE" line a
# sample; scripts/bench.sh boots the base and the series kernels alternately
# and compares them. Only the steps are checked here, not the figures.
#   ktest.bench=fastpath    the DMA map benchmark on an ATS device with strict
#                           invalidation, the time of one invalidation
#                           submission, and FLRs through sysfs
#   ktest.bench=quarantine  (series kernel with fault injection) time from an
#                           injected ATC timeout to the quarantine, and from
#                           the recovering reset to DMA working again

DMA_BENCH_RUNS=5
DMA_BENCH_SECONDS=2
FLR_RUNS=10
QUARANTINE_RUNS=5

sample() { diag "bench: $1 $2"; }

# test_dma_map_bench DEV: the kernel's dma_map_benchmark on DEV (rebound to
# its driver), single pages, one thread: map and unmap latency in us. The
# device's domain is a DMA domain with strict invalidation (the config), so
# each unmap invalidates the IOTLB and, ATS being on, the device TLB.
test_dma_map_bench() {
	[ "$(ats_enable "$1")" = 1 ] || { echo "ATS is off on $(basename "$1")"; return 1; }
	[ "$(cat "$1/iommu_group/type")" = DMA ] || { echo "not a strict DMA domain: $(cat "$1/iommu_group/type")"; return 1; }
	run=0
	while [ $run -lt $DMA_BENCH_RUNS ]; do
		out=$(dma_map_benchmark -t 1 -s $DMA_BENCH_SECONDS -g 1) || { echo "$out"; return 1; }
		map=$(echo "$out" | sed -n 's/^average map latency(us):\([0-9.]*\) .*/\1/p')
		unmap=$(echo "$out" | sed -n 's/^average unmap latency(us):\([0-9.]*\) .*/\1/p')
		[ -n "$map" ] && [ -n "$unmap" ] || { echo "cannot read: $out"; return 1; }
		sample dma_map_us "$map"
		sample dma_unmap_us "$unmap"
		run=$((run + 1))
	done
}

# test_bench_invalidates_devtlb DEV: a short benchmark run sends device-TLB
# invalidations to DEV (qi_submit tracepoint), so the figures above include
# them. Traced apart, not to slow the measured runs.
test_bench_invalidates_devtlb() {
	ev=$TRACING/events/intel_iommu/qi_submit
	echo >$TRACING/trace
	echo 1 >$ev/enable
	echo 1 >$TRACING/tracing_on
	dma_map_benchmark -t 1 -s 1 -g 1 >/dev/null
	echo 0 >$TRACING/tracing_on
	echo 0 >$ev/enable
	n=$(count_devtlb_inv "$1" $TRACING/trace)
	echo "$n device-TLB invalidations for $(basename "$1") in 1 s of benchmark"
	[ "$n" -gt 0 ]
}

# test_qi_submit_profile DEV: where an unmap's cost is: the time of each
# qi_submit_sync() called from cache_tag_flush_range(), the strict unmap's
# invalidation (under caching mode a map calls it through
# cache_tag_flush_range_np(), not counted), during 1 s of benchmark on DEV;
# their median is the sample. The function_graph tracer's own cost is in
# it, the same on every kernel; other devices' unmaps meanwhile too.
test_qi_submit_profile() {
	echo 0 >$TRACING/tracing_on
	echo cache_tag_flush_range >$TRACING/set_ftrace_filter || return 1
	echo qi_submit_sync >>$TRACING/set_ftrace_filter || return 1
	echo function_graph >$TRACING/current_tracer
	echo >$TRACING/trace
	echo 1 >$TRACING/tracing_on
	bench_ok=1
	dma_map_benchmark -t 1 -s 1 -g 1 >/dev/null || bench_ok=0
	echo 0 >$TRACING/tracing_on
	# Nested one level: "0) + 36.000 us   |    qi_submit_sync();"
	us=$(sed -n 's/.* \([0-9][0-9]*\.[0-9]*\) us *|    qi_submit_sync();$/\1/p' $TRACING/trace |
		sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
	# The tracer back as the other steps expect it, failed or not
	echo nop >$TRACING/current_tracer
	echo >$TRACING/set_ftrace_filter
	[ "$bench_ok" = 1 ] || { echo "dma_map_benchmark failed"; return 1; }
	[ -n "$us" ] || { echo "no qi_submit_sync() under cache_tag_flush_range() in the trace"; return 1; }
	sample qi_submit_us "$us"
}

# test_flr_time DEV: the time of FLR_RUNS resets through sysfs, in ms.
test_flr_time() {
	run=0
	while [ $run -lt $FLR_RUNS ]; do
		ns=$(timed-reset "$1" | sed -n 's/^reset_ns //p')
		[ -n "$ns" ] || return 1
		sample flr_ms "$(awk -v n="$ns" 'BEGIN { printf "%.3f", n / 1e6 }')"
		run=$((run + 1))
	done
}

# log_time PATTERN: the printk time (seconds) of the one kernel log line
# matching PATTERN since the log was cleared; nothing if there is not
# exactly one (a rate-limited line would otherwise give an earlier run's).
log_time() {
	dmesg | awk -v p="$1" 'index($0, p) { n++; t = $0 }
		END { if (n == 1 && match(t, /^\[ *[0-9.]+\]/)) { t = substr(t, 2, RLENGTH - 2); sub(/^ +/, "", t); print t } }'
}

# test_quarantine_time DEV DISK: QUARANTINE_RUNS times, an injected ATC
# invalidation timeout on DEV after one read from DISK; from VT-d handling
# the (injected) Invalidation Time-out Error, the time to DEV fenced off
# (VT-d logs the timeout once it is, inside the qi_submit_sync() call that
# saw it) and to the core logging DEV blocked (printk times); then the time
# from the start of the FLR to the end of the first read after it.
test_quarantine_time() {
	bdf=$(basename "$1")
	# Not "i": wait_vtd_blocked and the other helpers use it.
	run=0
	while [ $run -lt $QUARANTINE_RUNS ]; do
		# Each run reads its own log lines (the console keeps them all).
		dmesg -c >/dev/null
		arm_atc_timeout "$1" || return 1
		read_one_block "$2"
		wait_vtd_blocked "$1" 20 || { echo "$bdf not blocked"; disarm_atc_timeout; return 1; }
		disarm_atc_timeout
		sleep 0.2
		t0=$(log_time "injected Invalidation Time-out Error for ${bdf#0000:} ")
		t1=$(log_time "Device-TLB invalidation to ${bdf#0000:} timed out")
		t2=$(log_time "$bdf: ATC invalidation failed: DMA blocked")
		[ -n "$t0" ] && [ -n "$t1" ] && [ -n "$t2" ] || { echo "not one of each log line for $bdf in this run"; return 1; }
		sample fence_ms "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')"
		sample quarantine_ms "$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.3f", (b - a) * 1000 }')"
		ns=$(timed-reset "$1" "/dev/$2" | sed -n 's/^reset_to_dma_ns //p')
		[ -n "$ns" ] || { echo "recovery of $bdf failed"; return 1; }
		sample recovery_ms "$(awk -v n="$ns" 'BEGIN { printf "%.3f", n / 1e6 }')"
		run=$((run + 1))
	done
}

dma=$(pci_dev_of_disk "$(disk_by_serial ktest-dma)")
dma_disk=$(disk_by_serial ktest-dma)
case "$(cmdline_arg ktest.bench)" in
fastpath)
	x0=$(pci_dev_of_disk "$(disk_by_serial ktest-x0)")
	run_test bench.x0_to_dma_map_benchmark rebind "$x0" dma_map_benchmark
	run_test bench.dma_map test_dma_map_bench "$x0"
	run_test bench.invalidates_devtlb test_bench_invalidates_devtlb "$x0"
	run_test bench.qi_submit_profile test_qi_submit_profile "$x0"
	run_test bench.flr test_flr_time "$dma"
	;;
quarantine)
	run_test bench.quarantine test_quarantine_time "$dma" "$dma_disk"
	;;
*) ktap fail bench "ktest.bench=fastpath|quarantine expected" ;;
esac
