# shellcheck shell=dash disable=SC2034 # constants used by the suites
# Helpers for the guest test suites: KTAP output, kernel command line,
# PCI config space, virtio and block devices, ftrace.
# Helpers keep their counters local (busybox sh and dash have "local"):
# the loops of the suites that call them use the same short names.

RESULTS=/dev/hvc0
if [ ! -c "$RESULTS" ]; then
	# The host then finds no results and fails this guest.
	echo "ktest: no $RESULTS for the results: is CONFIG_VIRTIO_CONSOLE set?" >/dev/kmsg
	RESULTS=/dev/null
fi
TRACING=/sys/kernel/tracing

cmdline_arg() {
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1
}

ktap_begin() {
	echo 0 >/tmp/ktap_n
	echo "KTAP version 1" >>"$RESULTS"
}

ktap_end() {
	echo "1..$(cat /tmp/ktap_n)" >>"$RESULTS"
}

diag() {
	echo "# $*" >>"$RESULTS"
}

# ktap ok|fail|skip NAME [REASON]
ktap() {
	local n
	n=$(($(cat /tmp/ktap_n) + 1))
	echo "$n" >/tmp/ktap_n
	case "$1" in
	ok) echo "ok $n $2" ;;
	fail) echo "not ok $n $2${3:+ # $3}" ;;
	skip) echo "ok $n $2 # SKIP $3" ;;
	esac >>"$RESULTS"
}

# run_test NAME FUNCTION [ARGS...]: FUNCTION returns 0 (pass), 4 (skip: its
# last output line says why) or anything else (fail: its output is shown).
SKIP=4
run_test() {
	local test_name=$1 test_rc=0
	shift
	"$@" >/tmp/test.log 2>&1 || test_rc=$?
	case "$test_rc" in
	0) ktap ok "$test_name" ;;
	"$SKIP") ktap skip "$test_name" "$(tail -n 1 /tmp/test.log)" ;;
	*)
		sed 's/^/# /' /tmp/test.log >>"$RESULTS"
		ktap fail "$test_name" "exit $test_rc"
		;;
	esac
}

# Config space of a PCI device directory (/sys/bus/pci/devices/X).
cfg_byte() { od -An -tu1 -j "$2" -N 1 "$1/config" | tr -d ' \n'; }
cfg_word() { echo $(($(cfg_byte "$1" "$2") | ($(cfg_byte "$1" $(($2 + 1))) << 8))); }
cfg_dword() { echo $(($(cfg_word "$1" "$2") | ($(cfg_word "$1" $(($2 + 2))) << 16))); }

# ext_cap_offset DEV ID: offset of PCIe extended capability ID, or nothing.
ext_cap_offset() {
	local off n h
	[ "$(stat -c %s "$1/config")" -gt 256 ] || return 0
	off=256
	n=0
	while [ "$off" -ne 0 ] && [ $n -lt 64 ]; do
		h=$(cfg_dword "$1" $off)
		[ "$h" -eq 0 ] && return 0
		if [ $((h & 0xffff)) -eq "$2" ]; then
			echo $off
			return 0
		fi
		off=$(((h >> 20) & 0xffc))
		n=$((n + 1))
	done
}

PCI_EXT_CAP_ID_ATS=15
has_ats_cap() { [ -n "$(ext_cap_offset "$1" $PCI_EXT_CAP_ID_ATS)" ]; }

# ats_enable DEV: the ATS Enable bit (1 or 0) of the ATS control register.
ats_enable() {
	off=$(ext_cap_offset "$1" $PCI_EXT_CAP_ID_ATS)
	[ -n "$off" ] || return 1
	echo $((($(cfg_word "$1" $((off + 6))) >> 15) & 1))
}

# bdf_sid 0000:02:00.1 -> PCI requester ID (bus << 8 | devfn), decimal.
bdf_sid() {
	b=${1#*:}
	bus=${b%%:*}
	d=${b#*:}
	dev=${d%%.*}
	fn=${d#*.}
	echo $(((0x$bus << 8) | (0x$dev << 3) | fn))
}

# The PCI device behind the virtio disk whose serial is $1.
disk_by_serial() {
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && basename "$b" && return 0
	done
	return 1
}

pci_dev_of_disk() {
	dirname "$(realpath "/sys/block/$1/device")"
}

virtio_dev_of_pci() {
	for v in "$1"/virtio*; do
		[ -d "$v" ] && echo "$v" && return 0
	done
	return 1
}

# virtio_has_feature VIRTIODEV BIT
virtio_has_feature() {
	[ "$(cut -c$(($2 + 1)) "$1/features")" = 1 ]
}
VIRTIO_F_ACCESS_PLATFORM=33

# disk_md5 DISK: checksum of the first MiB, read with O_DIRECT so the
# device really does DMA.
disk_md5() {
	dd if="/dev/$1" bs=65536 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

# bounded_md5 DISK [SECONDS]: disk_md5 of DISK, waiting at most SECONDS
# (60) for it: a device wrongly left blocked then fails its caller by name
# instead of hanging the guest until the host's time limit. The read cannot
# be stopped (it waits for the device), so it is left behind and
# /tmp/dma-hung.DISK tells later callers not to wait for DISK again.
bounded_md5() {
	local out pid
	if [ -e "/tmp/dma-hung.$1" ]; then
		echo "an earlier read of /dev/$1 never completed" >&2
		return 1
	fi
	out=$(mktemp)
	# A subshell with its own descriptors: a function call redirected in
	# busybox sh hands the caller's saved stdout to the background job, and
	# a caller's $(...) would then wait for the read after all.
	(disk_md5 "$1") >"$out" 2>/dev/null </dev/null &
	pid=$!
	if wait_exit "$pid" "${2:-60}"; then
		cat "$out"
		rm -f "$out"
		return 0
	fi
	rm -f "$out"
	if kill -0 "$pid" 2>/dev/null; then
		touch "/tmp/dma-hung.$1"
		echo "the O_DIRECT read of /dev/$1 did not complete in ${2:-60} s" >&2
	else
		echo "the O_DIRECT read of /dev/$1 failed" >&2
	fi
	return 1
}

iommu_group_of() {
	basename "$(realpath "$1/iommu_group")"
}

is_vtd() { [ -d /sys/class/iommu/dmar0 ]; }

# vtd_context_lo DEV: low qword of the VT-d context entry of DEV.
vtd_context_lo() {
	bdf=$(basename "$1")
	bdf=${bdf#0000:}
	awk -v d="$bdf" '$1 == d { split($3, c, ":"); print c[2]; exit }' \
		/sys/kernel/debug/iommu/intel/dmar_translation_struct
}

# vtd_entries DEV: how many present VT-d translation entries DEV has in
# dmar_translation_struct: its context entry in legacy mode, its present
# PASID entries in scalable mode. A blocked device has none.
vtd_entries() {
	bdf=$(basename "$1")
	f=/sys/kernel/debug/iommu/intel/dmar_translation_struct
	[ -r $f ] || { echo "no $f"; return 1; }
	awk -v d="${bdf#0000:}" '$1 == d { n++ } END { print n + 0 }' $f
}

# qi_qw0 TYPE TRACE: the first qword of each VT-d descriptor of TYPE
# (cc_inv, dev_tlb_inv, ...) that the qi_submit tracepoint recorded in TRACE.
qi_qw0() {
	sed -n "s/.*qi_submit: $1 [^ ]* \(0x[0-9a-f]*\) .*/\1/p" "$2"
}

# count_devtlb_inv DEV TRACE: device-TLB invalidations (with and without
# PASID) for DEV's source ID that the qi_submit tracepoint recorded in TRACE.
count_devtlb_inv() {
	local sid n qw0
	sid=$(bdf_sid "$(basename "$1")")
	n=0
	for qw0 in $(qi_qw0 dev_tlb_inv "$2"); do
		[ $(((qw0 >> 32) & 0xffff)) -eq "$sid" ] && n=$((n + 1))
	done
	for qw0 in $(qi_qw0 p_dev_tlb_inv "$2"); do
		[ $(((qw0 >> 16) & 0xffff)) -eq "$sid" ] && n=$((n + 1))
	done
	echo "$n"
}

# ftrace_setup FUNC...: the function tracer, limited to these functions.
# Set it up once per boot: switching the function tracer on a second time
# has crashed 7.3.4 under TCG (a call through a NULL trampoline).
ftrace_setup() {
	echo 0 >$TRACING/tracing_on
	: >$TRACING/set_ftrace_filter
	for f in "$@"; do
		echo "$f" >>$TRACING/set_ftrace_filter || return 1
	done
	echo function >$TRACING/current_tracer
}

# ftrace_record: start recording with an empty buffer.
ftrace_record() {
	echo >$TRACING/trace
	echo 1 >$TRACING/tracing_on
}

# ftrace_calls: stop recording; print the calls as "time function<-caller".
ftrace_calls() {
	echo 0 >$TRACING/tracing_on
	sed -n 's/.* \([0-9.]*\): \([A-Za-z0-9_.]*\) <-\([A-Za-z0-9_.]*\)$/\1 \2<-\3/p' $TRACING/trace
}

# host_request COMMAND ID: ask the host (scripts/host-agent.py) to send
# COMMAND for the QEMU device ID to QEMU's monitor, e.g. device_del.
host_request() {
	echo "# ktest-host: $1 $2" >>"$RESULTS"
}

# wait_gone PATH SECONDS: wait for PATH to disappear.
wait_gone() {
	local i
	i=0
	while [ -e "$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -e "$1" ]
}

# wait_exit PID SECONDS: wait for the background job PID to exit, at most
# SECONDS; it is not waited for (nor killed) after that.
wait_exit() {
	local i
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! kill -0 "$1" 2>/dev/null && wait "$1"
}

# uptime_ms: time since boot in milliseconds (10 ms resolution).
uptime_ms() {
	read -r up _ </proc/uptime
	echo $((${up%.*}${up#*.} * 10))
}

kernel_warnings() {
	dmesg | grep -cE 'WARNING:|BUG:|Oops'
}

# --- Fault injection (the series' debugfs points) ---

FAIL_RESET=/sys/kernel/debug/fail_pci_reset
FAIL_ATC=/sys/kernel/debug/fail_iommu_atc_inv

# fail_next_flr DEV: the next FLR of DEV fails, as one of a device that does
# not come back from it; the one after succeeds.
fail_next_flr() {
	[ -d $FAIL_RESET ] || { echo "no $FAIL_RESET: CONFIG_FAIL_PCI_RESET is off"; return 1; }
	echo 100 >$FAIL_RESET/probability
	echo 1 >$FAIL_RESET/times
	basename "$1" >$FAIL_RESET/device
}

# fail_no_flr: disarm, whether the failure fired or not (times 0: no more).
fail_no_flr() {
	echo 0 >$FAIL_RESET/times
	echo >$FAIL_RESET/device
}

# arm_atc_timeout DEV: the next device-TLB invalidation for DEV times out.
# (disarm_atc_timeout then leaves the other attributes armed, for a tool that
# names the device itself.)
arm_atc_timeout() {
	[ -d $FAIL_ATC ] || { echo "no $FAIL_ATC: CONFIG_FAIL_IOMMU_ATC_INV is off"; return 1; }
	echo 100 >$FAIL_ATC/probability
	echo 0 >$FAIL_ATC/verbose
	echo 1 >$FAIL_ATC/times
	basename "$1" >$FAIL_ATC/device
}

disarm_atc_timeout() {
	echo >$FAIL_ATC/device
}

# quarantine_logged DEV: how many times the IOMMU core logged DEV quarantined.
quarantine_logged() {
	dmesg | grep -c "$(basename "$1"): ATC invalidation failed: DMA blocked until the device is reset"
}

# read_one_block DISK: one O_DIRECT read, so one DMA unmap, no I/O left.
read_one_block() {
	dd if="/dev/$1" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
}

# wait_vtd_blocked DEV TENTHS: wait up to TENTHS tenths of a second for VT-d
# to hold no translation entry for DEV.
wait_vtd_blocked() {
	local i
	i=0
	while [ "$(vtd_entries "$1")" != 0 ] && [ $i -lt "$2" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(vtd_entries "$1")" = 0 ]
}

# --- Drivers ---

# rebind DEV DRIVER: bind DEV to DRIVER (vfio-pci, dma_map_benchmark,
# virtio-pci) instead of its current driver.
rebind() {
	if [ -e "$1/driver" ]; then
		basename "$1" >"$1/driver/unbind" || return 1
	fi
	echo "$2" >"$1/driver_override"
	basename "$1" >/sys/bus/pci/drivers_probe
	echo >"$1/driver_override"
	[ "$(basename "$(realpath "$1/driver" 2>/dev/null)")" = "$2" ] && return 0
	echo "$(basename "$1") did not bind to $2"
	return 1
}

# --- Verdicts shared by the suites ---

# not_vtd: why the quarantine checks cannot run here, as a skip. Whether
# this guest may skip them is for tests/expected-skips.tsv to say: on an x86
# guest such a skip fails make check.
not_vtd() {
	if ! is_vtd; then
		echo "not applicable: no VT-d here; ATC invalidation timeouts are injected on VT-d only (QEMU's SMMUv3 has no ATS)"
	else
		echo "cannot run: no $FAIL_ATC in this kernel (CONFIG_FAIL_IOMMU_ATC_INV)"
	fi
	return $SKIP
}

# lockdep_proving: lockdep checks lock ordering in this kernel.
lockdep_proving() {
	[ "$(cat /sys/module/lockdep/parameters/prove_locking 2>/dev/null)" = 1 ]
}

# pciehp_lockdep: why the unplug checks do not run with lockdep proving.
pciehp_lockdep() {
	echo "not run here: 7.3.4's pciehp makes lockdep report a circular dependency (ctrl->reset_lock, pci_rescan_remove_lock) on every hot-unplug, from its own locking, which this series does not touch; the x86-debug-unplug guest runs them with lockdep.prove_locking=0"
	return $SKIP
}

# test_no_new_warning BEFORE: no more WARNING, BUG or Oops lines in the
# kernel log than BEFORE, the kernel_warnings of when the suite started.
test_no_new_warning() {
	now=$(kernel_warnings)
	[ "$now" -eq "$1" ] && return 0
	echo "the kernel log has $((now - $1)) new warnings"
	return 1
}
