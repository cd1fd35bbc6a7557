# shellcheck shell=dash
# Suite stress: resets, quarantines, attaches and hot-unplugs all at once,
# bounded in iterations and time; meant for the debug kernel (lockdep,
# KASAN, DEBUG_ATOMIC_SLEEP, kmemleak: suite "leaks" runs after it, and the
# host scans the console). Afterwards every device still present must do
# DMA with ATS on, and a real attach must succeed (no recovery count left
# behind).
#   ktest.stress=short|full   iterations: short in make check, full in make stress
#   ktest.stress_part=unplug  only the hot-unplug cycles, which need lockdep
#                             proving off (pciehp's own report, see pci-reset.sh)
#
# At once, in the main part:
#   fn0, fn1 (one group)  sysfs resets of each, O_DIRECT reads of each
#   net                   bound to vfio-pci: iommufd attach/detach loops
#                         (tests/tools/iommufd-attach) and sysfs resets
#   dma                   quarantine cycles: an injected ATC invalidation
#                         timeout, every other time a failed FLR, then an FLR
#   mock                  the iommufd_reset kselftests (two-device groups,
#                         overlapping episodes, reports) and, in the full
#                         form, at the same time the iommufd_mock_domain ones
#                         (attach, replace and detach loops); not two
#                         iommufd_reset runs at once: their shared-group
#                         devices would share one group

DISK_MD5=$(cmdline_arg ktest.disk_md5)
# The short form leaves out the iommufd_mock_domain kselftests: on the debug
# kernel under TCG one run takes longer than the whole short form.
case "$(cmdline_arg ktest.stress)" in
full) RESETS=40 QUARANTINES=8 ATTACH_RUNS=20 MOCK_RUNS=2 MOCK_FIXTURES="iommufd_reset iommufd_mock_domain" UNPLUGS=6 LIMIT=2400 ;;
*) RESETS=4 QUARANTINES=2 ATTACH_RUNS=4 MOCK_RUNS=1 MOCK_FIXTURES=iommufd_reset UNPLUGS=2 LIMIT=400 ;;
esac
W=/tmp/stress
rm -rf $W && mkdir -p $W

uptime_s() { cut -d. -f1 /proc/uptime; }
DEADLINE=$(($(uptime_s) + LIMIT))
in_time() { [ "$(uptime_s)" -lt $DEADLINE ]; }

# Each worker writes its count to $W/NAME.count (and the kernel log, so that
# the console shows who makes progress) and, if it failed, why to
# $W/NAME.failed; its output goes to $W/NAME.log.
count() {
	echo "$2" >"$W/$1.count"
	echo "ktest: stress: $1 $2" >/dev/kmsg
}
failed() {
	echo "$2" >>"$W/$1.failed"
	echo "$1: $2"
}

# reset_loop NAME DEV N: N sysfs resets of DEV.
reset_loop() {
	n=0
	while [ $n -lt "$3" ] && [ ! -e $W/stop ] && in_time; do
		echo 1 >"$2/reset" || { failed "$1" "reset $((n + 1)) of $(basename "$2") failed"; return; }
		n=$((n + 1))
		count "$1" $n
	done
}

# read_loop NAME DISK: O_DIRECT reads of DISK, checked, until $W/stop.
read_loop() {
	n=0
	while [ ! -e $W/stop ] && in_time; do
		sum=$(bounded_md5 "$2" 2>&1) || { failed "$1" "read $((n + 1)): $sum"; return; }
		[ "$sum" = "$DISK_MD5" ] || failed "$1" "read $((n + 1)) of /dev/$2: md5 $sum"
		n=$((n + 1))
		count "$1" $n
	done
}

# attach_loop NAME DEV N: N runs of iommufd-attach (bind, 5 attach/detach,
# close) on DEV, bound to vfio-pci. EBUSY is expected while a reset of DEV
# runs; any other error is a failure.
attach_loop() {
	n=0 ok=0 busy=0
	while [ $n -lt "$3" ] && in_time; do
		out=$(iommufd-attach "$(basename "$2")" 5 2>&1) || { failed "$1" "iommufd-attach: $out"; return; }
		a=$(echo "$out" | sed -n 's/^attach ok \([0-9]*\) busy [0-9]*$/\1/p')
		b=$(echo "$out" | sed -n 's/^attach ok [0-9]* busy \([0-9]*\)$/\1/p')
		ok=$((ok + ${a:-0}))
		busy=$((busy + ${b:-0}))
		echo "$out" | grep -q '^bind busy$' && busy=$((busy + 1))
		n=$((n + 1))
		count "$1" "$n $ok $busy"
	done
}

# mock_loop NAME FIXTURE N: N runs of the kselftests of FIXTURE.
mock_loop() {
	n=0
	while [ $n -lt "$3" ] && in_time; do
		(cd /tmp && iommufd -f "$2") >"$W/$1.ksft" 2>&1 ||
			{ failed "$1" "iommufd -f $2 failed: $(grep '^not ok' "$W/$1.ksft" | head -n 3)"; return; }
		n=$((n + 1))
		count "$1" $n
	done
}

# quarantine_loop NAME DEV DISK N: N times, DEV's next ATC invalidation
# times out (after one read from DISK, no I/O left to it); DEV must be
# blocked with ATS off within 2 s; every other time an FLR made to fail must
# keep it so; then an FLR must bring back DMA.
quarantine_loop() {
	n=0
	while [ $n -lt "$4" ] && in_time; do
		arm_atc_timeout "$2" || { failed "$1" "cannot inject"; return; }
		read_one_block "$3" || { failed "$1" "read from /dev/$3 failed"; return; }
		if ! wait_vtd_blocked "$2" 20; then
			disarm_atc_timeout
			failed "$1" "$(basename "$2") not blocked 2 s after the injected timeout"
			return
		fi
		disarm_atc_timeout
		[ "$(ats_enable "$2")" = 0 ] || { failed "$1" "ATS on while quarantined"; return; }
		if [ $((n % 2)) -eq 1 ]; then
			echo flr >"$2/reset_method"
			fail_next_flr "$2"
			echo 1 2>/dev/null >"$2/reset" && failed "$1" "the FLR made to fail succeeded"
			fail_no_flr
			echo default >"$2/reset_method"
			[ "$(vtd_entries "$2")" = 0 ] || { failed "$1" "unblocked by a failed FLR"; return; }
		fi
		echo 1 >"$2/reset" || { failed "$1" "the FLR ending quarantine $((n + 1)) failed"; return; }
		[ "$(vtd_entries "$2")" != 0 ] || { failed "$1" "still blocked after a good FLR"; return; }
		sum=$(bounded_md5 "$3" 2>&1)
		[ "$sum" = "$DISK_MD5" ] || { failed "$1" "read after recovery: md5 $sum"; return; }
		n=$((n + 1))
		count "$1" $n
	done
}

# alive PID: the process runs (a zombie is done).
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^State:\s*Z' "/proc/$1/status" 2>/dev/null
}

# kill_tree PID: SIGKILL PID and its descendants.
kill_tree() {
	for t in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$t/stat" 2>/dev/null)" = "$1" ] && kill_tree "$(basename "$t")"
	done
	kill -9 "$1" 2>/dev/null
}

# watchdog PIDS: if any of PIDS still runs 120 s after the deadline, record
# what every sleeping task waits for in $W/stuck and kill those PIDS, so
# that the suite reports them instead of hanging the guest.
watchdog() {
	while [ "$(uptime_s)" -lt $((DEADLINE + 120)) ]; do
		left=
		for p in $1; do
			alive "$p" && left="$left $p"
		done
		[ -n "$left" ] || return 0
		sleep 5
	done
	{
		echo "still running 120 s after the limit:$left"
		for t in /proc/[0-9]*; do
			state=$(sed -n 's/^State:\s*//p' "$t/status" 2>/dev/null)
			case "$state" in S*|D*) ;; *) continue ;; esac
			echo "$(basename "$t") $state $(tr '\0' ' ' <"$t/cmdline" 2>/dev/null | cut -c1-60)"
			sed 's/^/    /' "$t/stack" 2>/dev/null | head -n 12
		done
	} >$W/stuck 2>&1
	for p in $left; do
		kill_tree "$p"
	done
}

test_no_worker_stuck() {
	[ -e $W/stuck ] || return 0
	cat $W/stuck
	return 1
}

# test_worker NAME WANT: the worker did not fail and, if WANT is given,
# counted WANT (the first number of its count).
test_worker() {
	[ -e "$W/$1.failed" ] && { cat "$W/$1.failed"; tail -n 20 "$W/$1.log"; return 1; }
	got=$(cut -d' ' -f1 "$W/$1.count" 2>/dev/null)
	echo "$1: ${got:-0}${2:+ of $2}"
	if [ -z "$2" ]; then
		[ "${got:-0}" -gt 0 ] && return 0
		echo "$1 did nothing"
		return 1
	fi
	[ "${got:-0}" = "$2" ] && return 0
	echo "$1 stopped early (the suite's limit is $LIMIT s)"
	return 1
}

# test_attach_works DEV: a real attach of DEV succeeds, several times.
test_attach_works() {
	out=$(iommufd-attach "$(basename "$1")" 3 2>&1)
	echo "$out"
	[ "$out" = "bind ok
attach ok 3 busy 0" ]
}

# test_attach_busy_while_quarantined DEV: DEV (bound to vfio-pci) attached
# to an iommufd IOAS gets an ATC invalidation timeout (injected) when a page
# is unmapped: the core quarantines it, and real attaches of it fail with
# EBUSY until a reset succeeds; then they succeed again.
test_attach_busy_while_quarantined() {
	logged=$(quarantine_logged "$1")
	# The tool names the device once it is attached
	arm_atc_timeout "$1" && disarm_atc_timeout || return 1
	out=$(iommufd-attach "$(basename "$1")" 4 inject 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 0 ] || return 1
	[ "$(quarantine_logged "$1")" -gt "$logged" ] || { echo "$(basename "$1") was not quarantined"; return 1; }
	[ "$(echo "$out" | tail -n 1)" = "attach ok 1 busy 3" ] || return 1
	echo 1 >"$1/reset" || { echo "the FLR of $(basename "$1") failed"; return 1; }
	test_attach_works "$1"
}

# test_device_recovered DEV DISK: unblocked, ATS on, DMA right.
test_device_recovered() {
	[ "$(vtd_entries "$1")" != 0 ] || { echo "$(basename "$1") is blocked"; return 1; }
	test_ats_on "$1" || return 1
	[ -z "$2" ] && return 0
	sum=$(bounded_md5 "$2" 2>&1)
	[ "$sum" = "$DISK_MD5" ] || { echo "O_DIRECT read of /dev/$2: md5 $sum"; return 1; }
}

test_ats_on() {
	[ "$(ats_enable "$1")" = 1 ] && return 0
	echo "ATS Enable of $(basename "$1") is $(ats_enable "$1")"
	return 1
}

stress_main() {
	fn0=$(pci_dev_of_disk "$(disk_by_serial ktest-fn0)")
	fn1=$(pci_dev_of_disk "$(disk_by_serial ktest-fn1)")
	dma=$(pci_dev_of_disk "$(disk_by_serial ktest-dma)")
	fn0_disk=$(disk_by_serial ktest-fn0) fn1_disk=$(disk_by_serial ktest-fn1)
	dma_disk=$(disk_by_serial ktest-dma)
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1041 ] && net=$d
	done
	run_test stress.net_to_vfio rebind "$net" vfio-pci
	run_test stress.attach_before test_attach_works "$net"
	run_test stress.attach_busy_while_quarantined test_attach_busy_while_quarantined "$net"
	diag "stress: $RESETS resets of fn0, fn1 and net each, $QUARANTINES quarantines of dma, $ATTACH_RUNS attach runs, $MOCK_RUNS runs of $MOCK_FIXTURES, limit $LIMIT s"
	# The hugepage variants of iommufd_mock_domain need reserved huge pages
	echo 128 >/proc/sys/vm/nr_hugepages
	t0=$(uptime_s)
	read_loop reads.fn0 "$fn0_disk" >$W/reads.fn0.log 2>&1 &
	readers=$!
	read_loop reads.fn1 "$fn1_disk" >$W/reads.fn1.log 2>&1 &
	readers="$readers $!"
	# The bounded workers; the readers go on until they are done.
	reset_loop resets.fn0 "$fn0" $RESETS >$W/resets.fn0.log 2>&1 &
	bounded=$!
	reset_loop resets.fn1 "$fn1" $RESETS >$W/resets.fn1.log 2>&1 &
	bounded="$bounded $!"
	reset_loop resets.net "$net" $RESETS >$W/resets.net.log 2>&1 &
	bounded="$bounded $!"
	attach_loop attach.net "$net" $ATTACH_RUNS >$W/attach.net.log 2>&1 &
	bounded="$bounded $!"
	quarantine_loop quarantine.dma "$dma" "$dma_disk" $QUARANTINES >$W/quarantine.dma.log 2>&1 &
	bounded="$bounded $!"
	for f in $MOCK_FIXTURES; do
		mock_loop "mock.$f" "$f" $MOCK_RUNS >"$W/mock.$f.log" 2>&1 &
		bounded="$bounded $!"
	done
	watchdog "$bounded $readers" &
	watchdog=$!
	# shellcheck disable=SC2086 # a list of pids
	wait $bounded
	touch $W/stop
	# The readers end after their current read. One that cannot (a task
	# stuck in the kernel survives SIGKILL) is reported, not waited for.
	for p in $readers; do
		while alive "$p" && [ "$(uptime_s)" -lt $((DEADLINE + 180)) ]; do
			sleep 1
		done
		alive "$p" && echo "reader $p never ended" >>$W/stuck
	done
	# Only our own workers: an earlier suite's leftover child (a uevent
	# listener) would make a bare "wait" wait forever.
	# shellcheck disable=SC2086 # a list of pids
	[ -e $W/stuck ] || wait $readers
	kill "$watchdog" 2>/dev/null
	echo 0 >/proc/sys/vm/nr_hugepages
	diag "stress: workers done in $(($(uptime_s) - t0)) s"
	run_test stress.no_worker_stuck test_no_worker_stuck
	for w in resets.fn0 resets.fn1 resets.net; do
		run_test "stress.$w" test_worker $w $RESETS
	done
	run_test stress.quarantine.dma test_worker quarantine.dma $QUARANTINES
	run_test stress.attach.net test_worker attach.net $ATTACH_RUNS
	for f in $MOCK_FIXTURES; do
		run_test "stress.mock.$f" test_worker "mock.$f" $MOCK_RUNS
	done
	run_test stress.reads.fn0 test_worker reads.fn0
	run_test stress.reads.fn1 test_worker reads.fn1
	attach_counts=$(cat $W/attach.net.count 2>/dev/null)
	attached=$(echo "$attach_counts" | cut -d' ' -f2)
	busy=$(echo "$attach_counts" | cut -d' ' -f3)
	diag "stress: survived $((3 * RESETS)) sysfs resets, $(cat $W/quarantine.dma.count 2>/dev/null) quarantines (ATC timeout reports), $attached attaches ($busy EBUSY during resets), $MOCK_RUNS runs each of the $MOCK_FIXTURES kselftests"
	run_test stress.attach_after test_attach_works "$net"
	run_test stress.net_back_to_virtio rebind "$net" virtio-pci
	run_test stress.fn0_recovered test_device_recovered "$fn0" "$fn0_disk"
	run_test stress.fn1_recovered test_device_recovered "$fn1" "$fn1_disk"
	run_test stress.dma_recovered test_device_recovered "$dma" "$dma_disk"
	run_test stress.net_recovered test_device_recovered "$net"
}

# wait_disk SERIAL SECONDS: the disk with SERIAL, once it has appeared.
wait_disk() {
	i=0
	while [ $i -lt $(($2 * 10)) ]; do
		disk_by_serial "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# unplug_cycle N DEV: take DEV (disk ktest-x0, QEMU id blk-x0) away and
# back through QEMU's monitor: every other time quarantined first, else
# with its next ATC invalidation made to time out during the removal.
unplug_cycle() {
	disk=$(disk_by_serial ktest-x0) || { echo "no disk ktest-x0"; return 1; }
	sum=$(bounded_md5 "$disk" 2>&1)
	[ "$sum" = "$DISK_MD5" ] || { echo "read of /dev/$disk before unplug $1: md5 $sum"; return 1; }
	arm_atc_timeout "$2" || return 1
	if [ $(($1 % 2)) -eq 0 ]; then
		read_one_block "$disk"
		wait_vtd_blocked "$2" 20 || { echo "not quarantined"; disarm_atc_timeout; return 1; }
	fi
	host_request device_del blk-x0
	wait_gone "$2" 30 || { echo "$(basename "$2") still present 30 s after device_del"; disarm_atc_timeout; return 1; }
	disarm_atc_timeout
	host_request device_add blk-x0
	disk=$(wait_disk ktest-x0 60) || { echo "ktest-x0 not back 60 s after device_add"; return 1; }
	test_device_recovered "$2" "$disk"
}

stress_unplug() {
	lockdep_proving && { run_test stress.unplug pciehp_lockdep; return; }
	x0=$(pci_dev_of_disk "$(disk_by_serial ktest-x0)") || { ktap fail stress.unplug "no disk ktest-x0"; return; }
	fn0=$(pci_dev_of_disk "$(disk_by_serial ktest-fn0)")
	fn1_disk=$(disk_by_serial ktest-fn1)
	diag "stress: $UNPLUGS unplug cycles of $(basename "$x0"), resets of fn0 and reads of fn1 meanwhile"
	reset_loop resets.fn0 "$fn0" $((UNPLUGS * 20)) >$W/resets.fn0.log 2>&1 &
	workers=$!
	read_loop reads.fn1 "$fn1_disk" >$W/reads.fn1.log 2>&1 &
	workers="$workers $!"
	# Not "n": the helpers the cycles call use it.
	cycles=0
	while [ $cycles -lt $UNPLUGS ] && in_time; do
		cycles=$((cycles + 1))
		run_test "stress.unplug.$cycles" unplug_cycle $cycles "$x0"
	done
	touch $W/stop
	# shellcheck disable=SC2086 # a list of pids
	wait $workers
	run_test stress.unplug.resets.fn0 test_worker resets.fn0
	run_test stress.unplug.reads.fn1 test_worker reads.fn1
	diag "stress: survived $cycles unplugs and $(cat $W/resets.fn0.count 2>/dev/null) resets meanwhile"
}

warnings_before=$(kernel_warnings)
if ! is_vtd || [ ! -d $FAIL_ATC ]; then
	run_test stress not_vtd
elif [ "$(cmdline_arg ktest.stress_part)" = unplug ]; then
	stress_unplug
	run_test stress.no_kernel_warning test_no_new_warning "$warnings_before"
else
	stress_main
	run_test stress.no_kernel_warning test_no_new_warning "$warnings_before"
fi
