# shellcheck shell=dash
# Suite pci-reset: ATS devices, their reset methods, an FLR through sysfs
# and what it does to the IOMMU, DMA and ATS; bad input to the sysfs files.
# Roles come from the disks' serial numbers set by the host (scripts/guest.sh):
#   dma: virtio-blk ktest-dma   fn0/fn1: the two functions of one device

DISK_MD5=$(cmdline_arg ktest.disk_md5)

role_disk() { disk_by_serial "ktest-$1"; }
role_dev() { pci_dev_of_disk "$(role_disk "$1")"; }

net_dev() {
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1af4:0x1041 ] && echo "$d" && return 0
	done
	return 1
}

test_access_platform() {
	v=$(virtio_dev_of_pci "$1") || { echo "no virtio device under $1"; return 1; }
	virtio_has_feature "$v" $VIRTIO_F_ACCESS_PLATFORM && return 0
	echo "$(basename "$1") did not negotiate VIRTIO_F_ACCESS_PLATFORM: its DMA bypasses the IOMMU"
	return 1
}

test_ats_cap() {
	has_ats_cap "$1" || { echo "$(basename "$1") has no ATS capability"; return 1; }
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

test_two_functions_share_group() {
	g0=$(iommu_group_of "$(role_dev fn0)")
	g1=$(iommu_group_of "$(role_dev fn1)")
	echo "fn0 group $g0, fn1 group $g1"
	[ -n "$g0" ] && [ "$g0" = "$g1" ]
}

test_reset_method_has_flr() {
	m=$(cat "$1/reset_method")
	echo "reset_method: $m"
	case " $m " in *" flr "*) return 0 ;; esac
	return 1
}

test_dma() {
	md5_is_disk_image "$(disk_md5 "$1")" "$1"
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
	disk_md5 "$2" >/dev/null
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

# write_fails_einval FILE VALUE: writing VALUE to FILE fails with EINVAL.
write_fails_einval() {
	shown=$2
	[ ${#shown} -gt 40 ] && shown="<${#2} bytes>"
	if err=$(printf '%s\n' "$2" | dd of="$1" conv=notrunc 2>&1); then
		echo "writing '$shown' to $(basename "$1") succeeded"
		return 1
	fi
	case "$err" in *"Invalid argument"*) return 0 ;; esac
	echo "writing '$shown' to $(basename "$1"): $err (expected EINVAL)"
	return 1
}

test_reset_rejects_garbage() {
	bad=0
	for v in 0 -1 abc 2 "" "1 1" "$(head -c 4000 /dev/zero | tr '\0' x)"; do
		write_fails_einval "$1/reset" "$v" || bad=1
	done
	return $bad
}

test_reset_method_rejects_garbage() {
	before=$(cat "$1/reset_method")
	bad=0
	for v in abc "flr abc" "bogus bus" "$(head -c 4000 /dev/zero | tr '\0' y)"; do
		write_fails_einval "$1/reset_method" "$v" || bad=1
	done
	after=$(cat "$1/reset_method")
	[ "$before" = "$after" ] || { echo "reset_method changed from '$before' to '$after'"; bad=1; }
	# Restrict to one method and back to the default list.
	echo pm >"$1/reset_method" && [ "$(cat "$1/reset_method")" = pm ] || { echo "could not select pm"; bad=1; }
	echo default >"$1/reset_method"
	[ "$(cat "$1/reset_method")" = "$before" ] || { echo "default did not restore '$before'"; bad=1; }
	return $bad
}

# Writing method names to reset_method probes each method on the live,
# bound device. A probe resets nothing, so it must not block the device:
# no IOMMU prepare/done, and DMA keeps working while the probes run.
test_probe_does_not_block() {
	before=$(cat "$1/reset_method")
	(
		i=0
		while [ $i -lt 20 ]; do
			disk_md5 "$2"
			i=$((i + 1))
		done
	) >/tmp/probe-dma.md5 &
	dma=$!
	ftrace_record
	for m in $before "$before" garbage "$before"; do
		printf '%s\n' "$m" >"$1/reset_method" 2>/dev/null
	done
	wait $dma
	calls=$(ftrace_calls | cut -d' ' -f2 | tr '\n' ' ')
	echo default >"$1/reset_method"
	bad=0
	[ -z "$calls" ] || { echo "probing reset methods called: $calls"; bad=1; }
	n=$(grep -c "^$DISK_MD5\$" /tmp/probe-dma.md5)
	[ "$n" -eq 20 ] || { echo "only $n of 20 O_DIRECT reads during the probes were right"; bad=1; }
	[ "$(cat "$1/reset_method")" = "$before" ] || { echo "reset_method not restored"; bad=1; }
	return $bad
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

# test_ats_follows_blocked DEV: ATS Enable is clear while DEV is blocked and
# set when it is not, whatever the last reset did.
test_ats_follows_blocked() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	n=$(vtd_entries "$1") || return 1
	if [ "$n" -eq 0 ]; then want=0; else want=1; fi
	test_ats_enable "$1" $want
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

# test_probe_keeps_blocked DEV: writing method names (each one probed) and
# garbage to reset_method calls no prepare/done/cancel and leaves DEV
# blocked.
test_probe_keeps_blocked() {
	ftrace_record
	for m in flr pm bus "flr bus" garbage flr; do
		printf '%s\n' "$m" >"$1/reset_method" 2>/dev/null
	done
	calls=$(ftrace_calls | cut -d' ' -f2 | tr '\n' ' ')
	[ -z "$calls" ] || { echo "probing reset methods called: $calls"; return 1; }
	test_blocked "$1"
}

# test_dma_faults_while_blocked DEV: after the failed FLR the driver set the
# device up again (reset_done), and VT-d refused the DMA it then attempted.
test_dma_faults_while_blocked() {
	is_vtd || { echo "not applicable: no VT-d fault reports on this machine"; return $SKIP; }
	n=$(($(dmar_faults "$1") - $(cat /tmp/dmar-faults-before)))
	echo "$n DMA faults reported for $(basename "$1")"
	[ "$n" -gt 0 ]
}

test_flr_after_failure() {
	[ "$(cat "$1/reset_method")" = flr ] || { echo "reset_method is not flr"; return 1; }
	test_flr_prepare_done "$1"
}

# test_bus_reset_reports DEV: a reset of the bus below DEV's root port
# (sysfs reset_subordinate, the path of VFIO's hot reset) brackets DEV with
# prepare/done, and DEV ends blocked or not as the reset's result says.
# Whether it succeeded is left in /tmp/bus-reset-rc for the next test.
test_bus_reset_reports() {
	port=$(dirname "$(realpath "$1")")
	echo 1 >/tmp/bus-reset-rc
	[ -e "$port/reset_subordinate" ] || { echo "no reset_subordinate on $(basename "$port")"; return 1; }
	logged=$(reset_failures_logged "$1")
	ftrace_record
	if err=$(echo 1 2>&1 >"$port/reset_subordinate"); then rc=0; else rc=1; fi
	calls=$(ftrace_calls | cut -d' ' -f2 | sed 's/<-.*//' | tr '\n' ' ')
	echo "$rc" >/tmp/bus-reset-rc
	echo "reset_subordinate of $(basename "$port"): ${err:-succeeded}; calls: $calls"
	[ "$calls" = "pci_dev_reset_iommu_prepare pci_dev_reset_iommu_done " ] || return 1
	n=$(($(reset_failures_logged "$1") - logged))
	if [ "$rc" -eq 0 ]; then
		[ "$n" -eq 0 ] || { echo "a reset failure was logged"; return 1; }
		test_not_blocked "$1"
	else
		[ "$n" -eq 1 ] || { echo "the log says $n times that the reset failed"; return 1; }
		test_blocked "$1"
	fi
}

# test_bus_reset_unblocked DEV: the bus reset succeeded and unblocked DEV,
# which test_bus_reset_reports checked. QEMU 7.2's root port does not set
# Data Link Layer Link Active again after a secondary bus reset, so Linux
# finds every such reset failed there: this cannot be shown on it.
test_bus_reset_unblocked() {
	if [ "$(cat /tmp/bus-reset-rc)" -ne 0 ]; then
		echo "not shown: the bus reset failed (QEMU 7.2 root ports never report the link up again)"
		return $SKIP
	fi
	test_not_blocked "$1"
}

# test_dma_unblocked DEV DISK: as test_dma, for a device that should be
# unblocked. A read from a blocked device would never complete: on VT-d it
# is not attempted, elsewhere it is given 60 s, and the suite stops reading
# from the device once one did not complete.
test_dma_unblocked() {
	[ -e /tmp/dma-hung ] && { echo "an earlier read from $2 never completed"; return 1; }
	if is_vtd && [ "$(vtd_entries "$1")" = 0 ]; then
		echo "$(basename "$1") is still blocked: not reading from it"
		return 1
	fi
	rm -f /tmp/dma.md5
	(disk_md5 "$2" >/tmp/dma.md5.new && mv /tmp/dma.md5.new /tmp/dma.md5) &
	i=0
	while [ ! -e /tmp/dma.md5 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -e /tmp/dma.md5 ]; then
		touch /tmp/dma-hung
		echo "O_DIRECT read of /dev/$2 did not complete in 60 s: $(basename "$1") is blocked"
		return 1
	fi
	md5_is_disk_image "$(cat /tmp/dma.md5)" "$2"
}

# As test_devtlb_invalidations, only on a device known to be unblocked.
test_devtlb_invalidations_unblocked() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	[ "$(vtd_entries "$1")" = 0 ] && { echo "$(basename "$1") is still blocked"; return 1; }
	test_devtlb_invalidations "$1" "$2"
}

# A reset made to fail leaves the device blocked until a reset succeeds:
# an FLR; then after a second failed FLR, a bus reset, and a last FLR.
failed_reset_suite_for() {
	role=$1
	dev=$(role_dev "$role") || return
	disk=$(role_disk "$role")
	run_test "failed_flr.$role" test_failed_flr "$dev"
	run_test "blocked_after_failed_flr.$role" test_blocked "$dev"
	run_test "ats_disabled_while_blocked.$role" test_ats_enable "$dev" 0
	run_test "vtd_context_invalidated_on_block.$role" \
		test_context_invalidated_on_block "$dev"
	run_test "probe_keeps_blocked.$role" test_probe_keeps_blocked "$dev"
	run_test "dma_faults_while_blocked.$role" test_dma_faults_while_blocked "$dev"
	run_test "ats_disabled_after_faults.$role" test_ats_enable "$dev" 0
	run_test "flr_after_failed_flr.$role" test_flr_after_failure "$dev"
	echo default >"$dev/reset_method"
	run_test "unblocked_after_flr.$role" test_not_blocked "$dev"
	run_test "dma_after_failed_then_good_flr.$role" test_dma_unblocked "$dev" "$disk"
	run_test "ats_enabled_after_failed_then_good_flr.$role" test_ats_enable "$dev" 1
	run_test "devtlb_invalidations_after_failed_then_good_flr.$role" \
		test_devtlb_invalidations_unblocked "$dev" "$disk"
	run_test "failed_flr_again.$role" test_failed_flr "$dev"
	echo default >"$dev/reset_method"
	run_test "bus_reset_reports_result.$role" test_bus_reset_reports "$dev"
	run_test "bus_reset_unblocked.$role" test_bus_reset_unblocked "$dev"
	run_test "ats_follows_blocked_after_bus_reset.$role" test_ats_follows_blocked "$dev"
	run_test "flr_after_bus_reset.$role" test_flr_prepare_done "$dev"
	run_test "unblocked_after_last_flr.$role" test_not_blocked "$dev"
	run_test "dma_after_last_flr.$role" test_dma_unblocked "$dev" "$disk"
	run_test "ats_enabled_after_last_flr.$role" test_ats_enable "$dev" 1
}

reset_suite_for() {
	role=$1
	dev=$(role_dev "$role") || { ktap fail "find.$role" "no disk with serial ktest-$role"; return; }
	disk=$(role_disk "$role")
	diag "$role is $(basename "$dev") (/dev/$disk)"
	run_test "reset_method_has_flr.$role" test_reset_method_has_flr "$dev"
	run_test "ats_enabled.$role" test_ats_enable "$dev" 1
	run_test "vtd_context_devtlb.$role" test_context_devtlb "$dev"
	run_test "dma.$role" test_dma "$disk"
	run_test "devtlb_invalidations.$role" test_devtlb_invalidations "$dev" "$disk"
	run_test "flr_prepare_done.$role" test_flr_prepare_done "$dev"
	run_test "dma_after_flr.$role" test_dma "$disk"
	run_test "ats_enabled_after_flr.$role" test_ats_enable "$dev" 1
	run_test "vtd_context_devtlb_after_flr.$role" test_context_devtlb "$dev"
	run_test "devtlb_invalidations_after_flr.$role" test_devtlb_invalidations "$dev" "$disk"
}

# --- Quarantine: an ATC invalidation that times out (injected) ---

# test_inject_atc_timeout DEV DISK: the next device-TLB invalidation for DEV
# times out (fault injection), caused by one read from DISK; within a second
# DEV is blocked, VT-d logged the timeout and the core the quarantine, each
# once. Uevents are recorded from before the injection in /tmp/uevents, the
# qi_submit trace in /tmp/quarantine-trace from then on.
# stop_uevent_listener: the listener test_inject_atc_timeout started, if
# any, goes (a child left running would outlive the suite).
stop_uevent_listener() {
	[ -e /tmp/uevent.pid ] && kill "$(cat /tmp/uevent.pid)" 2>/dev/null
	rm -f /tmp/uevent.pid
}

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

# test_quarantine_uevent DEV: a listener saw KOBJ_CHANGE for DEV with
# IOMMU_DEVICE_NEEDS_RESET=1.
test_quarantine_uevent() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	path=$(realpath "$1")
	i=0
	while ! grep -q IOMMU_DEVICE_NEEDS_RESET=1 /tmp/uevents 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	stop_uevent_listener
	awk -v p="DEVPATH=${path#/sys}" '
		/^$/ { if (change && dev && reset) found = 1; change = dev = reset = 0; next }
		$0 == "ACTION=change" { change = 1 }
		$0 == p { dev = 1 }
		$0 == "IOMMU_DEVICE_NEEDS_RESET=1" { reset = 1 }
		END { exit !found }' /tmp/uevents && return 0
	echo "no change uevent with IOMMU_DEVICE_NEEDS_RESET=1 for ${path#/sys}; seen:"
	cat /tmp/uevents 2>/dev/null
	return 1
}

# test_no_devtlb_inv_while_quarantined DEV OTHER_DISK: while DEV is
# quarantined, DMA of the other function of its group unmaps from the domain
# they share, and no device-TLB invalidation goes to DEV: the trace started
# before the injection holds only the one that timed out.
test_no_devtlb_inv_while_quarantined() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	test_dma "$2" || return 1
	echo 0 >$TRACING/tracing_on
	echo 0 >$TRACING/events/intel_iommu/qi_submit/enable
	cp $TRACING/trace /tmp/quarantine-trace
	n=$(count_devtlb_inv "$1" /tmp/quarantine-trace)
	echo "$n device-TLB invalidations for $(basename "$1") since the injection"
	[ "$n" -eq 1 ]
}

# test_quarantine_context_invalidated DEV: as for a failed reset, VT-d
# changed DEV's context entry when the quarantine blocked it.
test_quarantine_context_invalidated() {
	cp /tmp/quarantine-trace /tmp/failed-flr-trace
	test_context_invalidated_on_block "$1"
}

# test_still_quarantined_after_failed_flr DEV: a failed FLR leaves DEV
# quarantined.
test_still_quarantined_after_failed_flr() {
	test_failed_flr "$1" || return 1
	test_blocked "$1"
}

# An injected ATC invalidation timeout quarantines a function of a
# two-function group until a successful FLR; the other function and the
# other devices keep working; a failed FLR keeps the quarantine.
quarantine_suite_for() {
	role=$1 other=$2
	is_vtd || { run_test "quarantine.$role" not_vtd; return; }
	dev=$(role_dev "$role") || return
	disk=$(role_disk "$role")
	# Disk names first: finding one reads every disk's serial, which would
	# wait forever on the quarantined device.
	other_disk=$(role_disk "$other")
	dma_disk=$(role_disk dma)
	run_test "atc_timeout_quarantines.$role" test_inject_atc_timeout "$dev" "$disk"
	run_test "quarantine_uevent.$role" test_quarantine_uevent "$dev"
	run_test "ats_disabled_while_quarantined.$role" test_ats_enable "$dev" 0
	run_test "other_function_works_while_quarantined.$role" test_dma "$other_disk"
	run_test "other_device_works_while_quarantined.$role" test_dma "$dma_disk"
	run_test "no_devtlb_inv_while_quarantined.$role" 		test_no_devtlb_inv_while_quarantined "$dev" "$other_disk"
	run_test "vtd_context_invalidated_on_quarantine.$role" \
		test_quarantine_context_invalidated "$dev"
	run_test "flr_ends_quarantine.$role" test_flr_prepare_done "$dev"
	run_test "unblocked_after_quarantine.$role" test_not_blocked "$dev"
	run_test "dma_after_quarantine.$role" test_dma_unblocked "$dev" "$disk"
	run_test "ats_enabled_after_quarantine.$role" test_ats_enable "$dev" 1
	run_test "devtlb_invalidations_after_quarantine.$role" \
		test_devtlb_invalidations_unblocked "$dev" "$disk"
	run_test "atc_timeout_quarantines_again.$role" test_inject_atc_timeout "$dev" "$disk"
	run_test "failed_flr_keeps_quarantine.$role" test_still_quarantined_after_failed_flr "$dev"
	run_test "ats_disabled_after_failed_flr.$role" test_ats_enable "$dev" 0
	echo default >"$dev/reset_method"
	run_test "flr_ends_quarantine_after_failed_flr.$role" test_flr_prepare_done "$dev"
	run_test "dma_after_second_quarantine.$role" test_dma_unblocked "$dev" "$disk"
	run_test "ats_enabled_after_second_quarantine.$role" test_ats_enable "$dev" 1
}

# --- Hot-unplug from the host (QEMU monitor), with the device quarantined
# or an ATC invalidation timing out while it is removed ---

# unplug DEV QEMU_ID: hot-unplug DEV through QEMU's monitor; pciehp removes
# it after its 5 s attention-button delay.
unplug() {
	host_request device_del "$2"
	wait_gone "$1" 30 && return 0
	echo "$(basename "$1") still present 30 s after device_del $2"
	return 1
}

# test_unplug_quarantined DEV QEMU_ID DISK: DEV, quarantined, is unplugged.
# pciehp powers off the whole slot, so its group (the two functions) goes
# with it; another device still does DMA. (QEMU cannot unplug one function
# of a slot: the iommufd selftests cover a group member going while another
# stays.)
test_unplug_quarantined() {
	is_vtd || { echo "not applicable: no ATS on this machine"; return $SKIP; }
	[ "$(vtd_entries "$1")" = 0 ] || { echo "$(basename "$1") is not quarantined"; return 1; }
	group=$(iommu_group_of "$1")
	unplug "$1" "$2" || return 1
	wait_gone "/sys/kernel/iommu_groups/$group" 5 ||
		{ echo "IOMMU group $group is still there"; return 1; }
	test_dma "$3"
}

# test_unplug_times_out DEV QEMU_ID: DEV's next ATC invalidation is made to
# time out, and DEV is unplugged: its driver's teardown unmaps and so
# invalidates, the timeout is reported while the device goes away.
test_unplug_times_out() {
	is_vtd || { echo "not applicable: no ATS on this machine"; return $SKIP; }
	logged=$(dmesg | grep -c "Device-TLB invalidation to ${1##*/0000:} timed out")
	arm_atc_timeout "$1" || return 1
	unplug "$1" "$2"
	rc=$?
	disarm_atc_timeout
	[ $rc -eq 0 ] || return 1
	n=$(($(dmesg | grep -c "Device-TLB invalidation to ${1##*/0000:} timed out") - logged))
	echo "$n ATC invalidation timeouts of $(basename "$1") while it was removed"
	[ "$n" -ge 1 ]
}

unplug_suite() {
	is_vtd || { run_test unplug_quarantined not_vtd; return; }
	lockdep_proving && { run_test unplug_quarantined pciehp_lockdep; return; }
	fn1=$(role_dev fn1) dma=$(role_dev dma)
	fn1_disk=$(role_disk fn1) dma_disk=$(role_disk dma)
	run_test "atc_timeout_quarantines.fn1" test_inject_atc_timeout "$fn1" "$fn1_disk"
	run_test unplug_quarantined.fn1 test_unplug_quarantined "$fn1" blk-fn1 "$dma_disk"
	run_test unplug_while_atc_times_out.dma test_unplug_times_out "$dma" blk-dma
}

warnings_before=$(kernel_warnings)
# ktest.pci_reset=unplug: only the hot-unplug checks (x86-debug-unplug).
if [ "$(cmdline_arg ktest.pci_reset)" = unplug ]; then
	unplug_suite
	stop_uevent_listener
	run_test no_kernel_warning test_no_new_warning "$warnings_before"
	return 0
fi
ftrace_setup pci_dev_reset_iommu_prepare pci_dev_reset_iommu_done pci_dev_reset_iommu_cancel ||
	ktap fail ftrace_setup "cannot trace pci_dev_reset_iommu_prepare/done/cancel"
for role in dma fn0 fn1; do
	run_test "ats_cap.$role" test_ats_cap "$(role_dev $role)"
	run_test "access_platform.$role" test_access_platform "$(role_dev $role)"
done
run_test access_platform.net test_access_platform "$(net_dev)"
run_test two_functions_share_group test_two_functions_share_group
reset_suite_for dma
reset_suite_for fn0
run_test bad_input_reset test_reset_rejects_garbage "$(role_dev dma)"
run_test bad_input_reset_method test_reset_method_rejects_garbage "$(role_dev dma)"
run_test dma_after_bad_input test_dma "$(role_disk dma)"
run_test probe_does_not_block.dma test_probe_does_not_block "$(role_dev dma)" "$(role_disk dma)"
failed_reset_suite_for dma
quarantine_suite_for fn0 fn1
unplug_suite
stop_uevent_listener
run_test no_kernel_warning test_no_new_warning "$warnings_before"
