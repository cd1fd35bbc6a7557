# shellcheck shell=dash disable=SC2034 # constants used by the suites
# Helpers and checks shared by the suites pci-reset, quarantine and unplug:
# the devices by role, DMA through them, FLRs and what VT-d shows of a
# blocked device, an injected ATC invalidation timeout. Sourced by each of
# those suites.
# Roles come from the disks' serial numbers set by the host (scripts/guest.sh):
#   dma: virtio-blk ktest-dma   fn0/fn1: the two functions of one device
#   net: the virtio-net device

DISK_MD5=$(cmdline_arg ktest.disk_md5)

role_disk() { disk_by_serial "ktest-$1"; }

role_dev() { pci_dev_of_disk "$(role_disk "$1")"; }

net_dev() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1041 ] && echo "$d" && return 0
	done
	return 1
}

# test_ats_enable DEV WANT
test_ats_enable() {
	if ! is_vtd; then
		echo "not applicable: QEMU's SMMUv3 has no ATS, so ATS is never enabled here"
		return $SKIP
	fi
	got=$(ats_enable "$1")
	[ "$got" = "$2" ] && return 0
	echo "ATS Enable of $(basename "$1") is $got, expected $2"
	return 1
}

# test_context_devtlb DEV: the VT-d context entry lets DEV use its device
# TLB (legacy: translation type 01; scalable mode: DTE), bit 2 either way.
test_context_devtlb() {
	is_vtd || { echo "not applicable: no VT-d on this machine"; return $SKIP; }
	lo=$(vtd_context_lo "$1")
	[ -n "$lo" ] || { echo "no context entry for $(basename "$1") in dmar_translation_struct"; return 1; }
	[ $(((lo >> 2) & 1)) -eq 1 ] && return 0
	echo "context entry lo=$lo of $(basename "$1") does not allow device-TLB use"
	return 1
}

# test_dma DISK: an O_DIRECT read of DISK returns the disk image, within
# bounded_md5's time.
test_dma() {
	local sum
	sum=$(bounded_md5 "$1" 2>&1) || { echo "$sum"; return 1; }
	md5_is_disk_image "$sum" "$1"
}

# md5_is_disk_image MD5 DISK: what was read from DISK is the disk image.
md5_is_disk_image() {
	[ "$1" = "$DISK_MD5" ] && return 0
	echo "O_DIRECT read of /dev/$2: md5 $1, expected $DISK_MD5"
	return 1
}

# Device-TLB invalidations carrying DEV's source ID while it does DMA: the
# ATS path is live, so the checks above are not vacuous.
test_devtlb_invalidations() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	sid=$(bdf_sid "$(basename "$1")")
	ev=$TRACING/events/intel_iommu/qi_submit
	echo >$TRACING/trace
	echo 1 >$ev/enable
	echo 1 >$TRACING/tracing_on
	bounded_md5 "$2" >/dev/null
	echo 0 >$TRACING/tracing_on
	echo 0 >$ev/enable
	n=$(count_devtlb_inv "$1" $TRACING/trace)
	echo "$n device-TLB invalidations for source ID $sid"
	[ "$n" -gt 0 ]
}

# An FLR through sysfs goes through pci_dev_reset_iommu_prepare() and then
# pci_dev_reset_iommu_done(), once each, called by pcie_flr(): the caller
# shows that the reset the IOMMU core saw is the FLR, not a nested one.
test_flr_prepare_done() {
	ftrace_record
	rc=0
	echo 1 >"$1/reset" || rc=1
	calls=$(ftrace_calls | cut -d' ' -f2 | tr '\n' ' ')
	echo "reset rc=$rc, calls: $calls"
	[ "$rc" -eq 0 ] || return 1
	[ "$calls" = "pci_dev_reset_iommu_prepare<-pcie_flr pci_dev_reset_iommu_done<-pcie_flr " ]
}

reset_failures_logged() {
	dmesg | grep -c "$(basename "$1"): reset failed"
}

# dmar_faults DEV: DMA requests of DEV that VT-d reported as faults.
dmar_faults() {
	dmesg | grep -c "DMAR: \[DMA .*\] Request device \[$(basename "$1")\]"
}

# test_vtd_blocked DEV yes|no: whether VT-d has no translation entry for
# DEV (legacy: context entry; scalable mode: PASID entries): a blocked DEV
# cannot DMA.
test_vtd_blocked() {
	is_vtd || { echo "not applicable: no VT-d debugfs on this machine"; return $SKIP; }
	n=$(vtd_entries "$1") || return 1
	if [ "$n" -eq 0 ]; then blocked=yes; else blocked=no; fi
	[ "$blocked" = "$2" ] && return 0
	echo "$(basename "$1") has $n VT-d translation entries (blocked: $blocked, expected $2)"
	return 1
}

test_blocked() { test_vtd_blocked "$1" yes; }

test_not_blocked() { test_vtd_blocked "$1" no; }

# test_context_invalidated_on_block DEV: during the failed FLR of
# test_failed_flr, VT-d invalidated the context cache for DEV's source ID: its
# context entry was changed, not only its PASID entries. In scalable mode the
# debugfs lists no context entry without a present PASID entry, so this is
# what shows that the context entry (DTE, translated requests) of a blocked
# device is cleared there.
test_context_invalidated_on_block() {
	is_vtd || { echo "not applicable: no VT-d on this machine"; return $SKIP; }
	sid=$(bdf_sid "$(basename "$1")")
	n=0
	for qw0 in $(qi_qw0 cc_inv /tmp/failed-flr-trace); do
		# Device-selective (granularity 3), for this source ID
		[ $(((qw0 >> 4) & 3)) -eq 3 ] && [ $(((qw0 >> 32) & 0xffff)) -eq "$sid" ] &&
			n=$((n + 1))
	done
	echo "$n device-selective context-cache invalidations for source ID $sid"
	[ "$n" -gt 0 ]
}

# test_failed_flr DEV: with FLR as its only method and the FLR made to fail,
# a sysfs reset fails, goes through prepare/done once, and the kernel log
# names the device once.
test_failed_flr() {
	echo flr >"$1/reset_method" || return 1
	fail_next_flr "$1" || return 1
	logged=$(reset_failures_logged "$1")
	is_vtd && dmar_faults "$1" >/tmp/dmar-faults-before
	is_vtd && echo 1 >$TRACING/events/intel_iommu/qi_submit/enable
	ftrace_record
	if err=$(echo 1 2>&1 >"$1/reset"); then rc=0; else rc=1; fi
	calls=$(ftrace_calls | cut -d' ' -f2 | tr '\n' ' ')
	is_vtd && echo 0 >$TRACING/events/intel_iommu/qi_submit/enable
	cp $TRACING/trace /tmp/failed-flr-trace
	fail_no_flr
	echo "reset: ${err:-succeeded}; calls: $calls"
	[ "$rc" -eq 1 ] || return 1
	bad=0
	[ "$calls" = "pci_dev_reset_iommu_prepare<-pcie_flr pci_dev_reset_iommu_done<-pcie_flr " ] || bad=1
	n=$(($(reset_failures_logged "$1") - logged))
	[ "$n" -eq 1 ] || { echo "the log says $n times that the reset of $(basename "$1") failed"; bad=1; }
	return $bad
}

# test_dma_unblocked DEV DISK: as test_dma, for a device that should be
# unblocked. A read from a blocked device would never complete: on VT-d it
# is not attempted, elsewhere it is given 60 s, and the suite stops reading
# from the device once one did not complete.
test_dma_unblocked() {
	local sum
	if is_vtd && [ "$(vtd_entries "$1")" = 0 ]; then
		echo "$(basename "$1") is still blocked: not reading from it"
		return 1
	fi
	sum=$(bounded_md5 "$2" 2>&1) || { echo "$sum: is $(basename "$1") blocked?"; return 1; }
	md5_is_disk_image "$sum" "$2"
}

# As test_devtlb_invalidations, only on a device known to be unblocked.
test_devtlb_invalidations_unblocked() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	[ "$(vtd_entries "$1")" = 0 ] && { echo "$(basename "$1") is still blocked"; return 1; }
	test_devtlb_invalidations "$1" "$2"
}

# stop_uevent_listener: the listener test_inject_atc_timeout started, if
# any, goes (a child left running would outlive the suite).
stop_uevent_listener() {
	[ -e /tmp/uevent.pid ] && kill "$(cat /tmp/uevent.pid)" 2>/dev/null
	rm -f /tmp/uevent.pid
}

# test_inject_atc_timeout DEV DISK: the next device-TLB invalidation for DEV
# times out (fault injection), caused by one read from DISK; within a second
# DEV is blocked, VT-d logged the timeout and the core the quarantine, each
# once. Uevents are recorded from before the injection in /tmp/uevents, the
# qi_submit trace in /tmp/quarantine-trace from then on.
test_inject_atc_timeout() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	logged=$(quarantine_logged "$1")
	stop_uevent_listener
	rm -f /tmp/uevents
	uevent sh -c 'env >>/tmp/uevents; echo >>/tmp/uevents' &
	echo $! >/tmp/uevent.pid
	sleep 0.2
	arm_atc_timeout "$1" || return 1
	echo >$TRACING/trace
	echo 1 >$TRACING/events/intel_iommu/qi_submit/enable
	echo 1 >$TRACING/tracing_on
	read_one_block "$2" || { echo "the read from /dev/$2 failed"; return 1; }
	t0=$(uptime_ms)
	i=0
	while [ "$(vtd_entries "$1")" != 0 ] && [ $i -lt 100 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	ms=$(($(uptime_ms) - t0))
	disarm_atc_timeout
	echo "$(basename "$1") blocked ${ms} ms after the read completed"
	[ "$(vtd_entries "$1")" = 0 ] || { echo "$(basename "$1") is not blocked after 1 s"; return 1; }
	[ "$(cat $FAIL_ATC/times)" = 0 ] || { echo "the fault was not injected"; return 1; }
	n=$(($(quarantine_logged "$1") - logged))
	[ "$n" -eq 1 ] || { echo "the quarantine of $(basename "$1") was logged $n times"; return 1; }
	dmesg | grep -q "Device-TLB invalidation to ${1##*/0000:} timed out" ||
		{ echo "VT-d did not log the timeout for $(basename "$1")"; return 1; }
}

# reset_tracing: the function tracer on prepare/done/cancel, set up once per
# boot for every suite that uses it (ftrace_setup says why).
reset_tracing() {
	[ -e /tmp/reset-tracing ] && return 0
	ftrace_setup pci_dev_reset_iommu_prepare pci_dev_reset_iommu_done \
		pci_dev_reset_iommu_cancel || return 1
	touch /tmp/reset-tracing
}
