# shellcheck shell=dash
# Suite quarantine: an ATC invalidation timeout (injected: fail_iommu_atc_inv)
# fences the device off at once, and the IOMMU core quarantines it until a
# reset succeeds; no other device is blamed.
# shellcheck source=tests/guest/lib-reset.sh
. /tests/lib-reset.sh

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

# test_no_devtlb_inv_while_quarantined DEV OTHER_DEV OTHER_DISK: while DEV is
# quarantined, DMA of the other function of its group unmaps from the domain
# they share, and no device-TLB invalidation goes to DEV: the trace started
# before the injection holds only the one that timed out. The control: the
# same read sent OTHER_DEV invalidations of its own, so the domain's unmaps
# did reach the invalidation queue while DEV was quarantined.
test_no_devtlb_inv_while_quarantined() {
	local n other before
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	before=$(count_devtlb_inv "$2" $TRACING/trace)
	test_dma "$3" || return 1
	echo 0 >$TRACING/tracing_on
	echo 0 >$TRACING/events/intel_iommu/qi_submit/enable
	cp $TRACING/trace /tmp/quarantine-trace
	n=$(count_devtlb_inv "$1" /tmp/quarantine-trace)
	other=$(($(count_devtlb_inv "$2" /tmp/quarantine-trace) - before))
	echo "$n device-TLB invalidations for $(basename "$1") since the injection, $other for $(basename "$2") during its read"
	[ "$other" -gt 0 ] || { echo "no control: the read while quarantined sent $(basename "$2") no invalidation either"; return 1; }
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
	other_dev=$(pci_dev_of_disk "$other_disk")
	dma_disk=$(role_disk dma)
	run_test "atc_timeout_quarantines.$role" test_inject_atc_timeout "$dev" "$disk"
	run_test "quarantine_uevent.$role" test_quarantine_uevent "$dev"
	run_test "ats_disabled_while_quarantined.$role" test_ats_enable "$dev" 0
	run_test "other_function_works_while_quarantined.$role" test_dma "$other_disk"
	run_test "other_device_works_while_quarantined.$role" test_dma "$dma_disk"
	run_test "no_devtlb_inv_while_quarantined.$role" \
		test_no_devtlb_inv_while_quarantined "$dev" "$other_dev" "$other_disk"
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

# --- The fence: VT-d revokes translated access in the call that saw the
# timeout, before the IOMMU core's work blocks the device ---

# test_fence_holds_while_report_pending DEV DISK: with the IOMMU core's work
# held back 5 s (fail_iommu_atc_inv/report_delay_ms), one read from DISK
# whose device-TLB invalidation times out returns with DEV not yet blocked by
# the core, yet with its context entry no longer allowing translated
# requests (CONTEXT_DEVTLB: legacy TT 00, scalable-mode DTE 0) and ATS Enable
# clear at the device; the core then blocks it.
test_fence_holds_while_report_pending() {
	is_vtd || { not_vtd; return; }
	[ -w $FAIL_ATC/report_delay_ms ] || { echo "no $FAIL_ATC/report_delay_ms"; return 1; }
	test_context_devtlb "$1" || return 1
	logged=$(quarantine_logged "$1")
	echo 5000 >$FAIL_ATC/report_delay_ms
	arm_atc_timeout "$1" || return 1
	read_one_block "$2"
	# The read returned: the unmap that timed out returned before it
	lo=$(vtd_context_lo "$1")
	ats=$(ats_enable "$1")
	entries=$(vtd_entries "$1")
	core=$(($(quarantine_logged "$1") - logged))
	echo 0 >$FAIL_ATC/report_delay_ms
	disarm_atc_timeout
	echo "in the window: context entry lo=$lo, ATS Enable $ats, $entries VT-d entries, quarantine logged $core times"
	bad=0
	if [ "$core" -ne 0 ] || [ "$entries" -eq 0 ]; then
		echo "the core had already blocked the device: the window was not tested"
		bad=1
	fi
	[ -n "$lo" ] && [ $(((lo >> 2) & 1)) -eq 0 ] ||
		{ echo "the context entry still allows translated requests"; bad=1; }
	[ "$ats" = 0 ] || { echo "ATS Enable is still set at the device"; bad=1; }
	wait_vtd_blocked "$1" 100 || { echo "not blocked 10 s after the timeout"; bad=1; }
	return $bad
}

fence_suite_for() {
	role=$1
	is_vtd || { run_test "fence_holds_while_report_pending.$role" not_vtd; return; }
	dev=$(role_dev "$role") || return
	disk=$(role_disk "$role")
	run_test "fence_holds_while_report_pending.$role" \
		test_fence_holds_while_report_pending "$dev" "$disk"
	run_test "flr_ends_fenced_quarantine.$role" test_flr_prepare_done "$dev"
	run_test "dma_after_fenced_quarantine.$role" test_dma_unblocked "$dev" "$disk"
	run_test "vtd_context_devtlb_after_fenced_quarantine.$role" test_context_devtlb "$dev"
}

# --- Blame on proof: a healthy device invalidated at the same time is not
# quarantined ---

# irq_affinity DEV CPUMASK: DEV's interrupts (and so its I/O completions and
# their unmaps) go to the CPUs of CPUMASK (hex).
irq_affinity() {
	local irq
	for irq in "$1"/msi_irqs/*; do
		echo "$2" >"/proc/irq/${irq##*/}/smp_affinity" 2>/dev/null
	done
}

# names_device DEV: kernel log lines naming DEV as timed out or quarantined.
names_device() {
	dmesg | grep -cE "(invalidation to ${1##*/0000:} timed out|Error for ${1##*/0000:} |$(basename "$1"): ATC invalidation failed)"
}

# test_healthy_device_not_blamed VICTIM VICTIM_DISK HEALTHY HEALTHY_DISK HIDE:
# every device-TLB invalidation to VICTIM times out (as a dead device's
# would) while HEALTHY, on the same VT-d, reads on the other CPU: the
# injection holds HEALTHY's submission behind VICTIM's, as hardware that
# carries descriptors out in order would, so that the ITE aborts both. With
# HIDE=1, the ITE does not say which device it is for (no ITESID). VICTIM is
# quarantined, once; HEALTHY is never blocked, logged or sent a uevent, and
# every read from it returns the disk image.
test_healthy_device_not_blamed() {
	local victim logged injected healthy_named reader shown bad=0 n reads good
	is_vtd || { not_vtd; return; }
	[ -e "/tmp/dma-hung.$4" ] && { echo "an earlier read of /dev/$4 never completed"; return 1; }
	[ -w $FAIL_ATC/hide_source_id ] || { echo "no $FAIL_ATC/hide_source_id"; return 1; }
	victim=${1##*/0000:}
	logged=$(quarantine_logged "$1")
	injected=$(dmesg | grep -c "injected Invalidation Time-out Error for $victim ")
	healthy_named=$(names_device "$3")
	stop_uevent_listener
	rm -f /tmp/uevents /tmp/stop-reads
	uevent sh -c 'env >>/tmp/uevents; echo >>/tmp/uevents' &
	echo $! >/tmp/uevent.pid
	irq_affinity "$1" 1
	irq_affinity "$3" 2
	taskset 2 sh -c "while [ ! -e /tmp/stop-reads ]; do dd if=/dev/$4 bs=65536 count=16 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1; done" >/tmp/healthy.md5 &
	reader=$!
	sleep 0.5
	echo "$5" >$FAIL_ATC/hide_source_id
	echo 100 >$FAIL_ATC/probability
	echo 0 >$FAIL_ATC/verbose
	echo -1 >$FAIL_ATC/times
	basename "$1" >$FAIL_ATC/device
	taskset 1 dd if="/dev/$2" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
	wait_vtd_blocked "$1" 50
	touch /tmp/stop-reads
	if ! wait_exit "$reader" 30; then
		# Its device was blocked under it: a virtio-blk read never ends
		touch "/tmp/dma-hung.$4"
		echo "the reads from the healthy /dev/$4 stopped: it was blocked"
		bad=1
	fi
	disarm_atc_timeout
	echo 0 >$FAIL_ATC/times
	echo 0 >$FAIL_ATC/hide_source_id
	irq_affinity "$1" 3
	irq_affinity "$3" 3
	sleep 0.2
	stop_uevent_listener
	dmesg | grep "injected Invalidation Time-out Error for $victim " | tail -n +$((injected + 1))
	if [ "$5" = 1 ]; then shown="no ITESID"; else shown="ITESID"; fi
	dmesg | grep "injected Invalidation Time-out Error for $victim " | tail -n +$((injected + 1)) |
		grep -q "($shown), [1-9][0-9]* other submissions pending" ||
		{ echo "no injected ITE ($shown) with another submission pending: the case was not tested"; bad=1; }
	[ "$(vtd_entries "$1")" = 0 ] || { echo "$victim was not quarantined"; bad=1; }
	n=$(($(quarantine_logged "$1") - logged))
	[ "$n" -eq 1 ] || { echo "the quarantine of $victim was logged $n times"; bad=1; }
	[ "$(vtd_entries "$3")" != 0 ] || { echo "the healthy $(basename "$3") is blocked"; bad=1; }
	n=$(($(names_device "$3") - healthy_named))
	[ "$n" -eq 0 ] || { echo "the log names the healthy $(basename "$3") $n times:"; dmesg | tail -n 20; bad=1; }
	grep -q "DEVPATH=$(realpath "$3" | sed 's|^/sys||')$" /tmp/uevents 2>/dev/null &&
		{ echo "the healthy $(basename "$3") was sent a uevent"; bad=1; }
	reads=$(wc -l </tmp/healthy.md5)
	good=$(grep -c "^$DISK_MD5\$" /tmp/healthy.md5)
	echo "$good of $reads reads from the healthy /dev/$4 returned the disk image"
	[ "$reads" -gt 0 ] && [ "$good" -eq "$reads" ] || bad=1
	return $bad
}

blame_suite_for() {
	local hide name dev disk healthy_dev healthy_disk
	for hide in 0 1; do
		name=healthy_device_not_blamed
		[ $hide = 1 ] && name=healthy_device_not_blamed_no_source_id
		is_vtd || { run_test "$name" not_vtd; continue; }
		dev=$(role_dev "$1") || return
		disk=$(role_disk "$1")
		healthy_dev=$(role_dev "$2")
		healthy_disk=$(role_disk "$2")
		run_test "$name" test_healthy_device_not_blamed "$dev" "$disk" \
			"$healthy_dev" "$healthy_disk" $hide
		run_test "flr_ends_quarantine.$name" test_flr_prepare_done "$dev"
		run_test "dma_after_quarantine.$name" test_dma_unblocked "$dev" "$disk"
	done
}

# --- DMA refused: the virtio-net device, whose DMA QEMU starts on a packet
# to send, is refused by VT-d (a fault for its source ID) and moves no data ---

# net_iface DEV: the network interface of the virtio-net device DEV.
net_iface() {
	basename "$(echo "$1"/virtio*/net/*)"
}

# net_up DEV: bind DEV to virtio-pci if it is not, and bring its interface
# up on QEMU's user network, whose gateway answers ARP.
net_up() {
	[ -e "$1/driver" ] || rebind "$1" virtio-pci || return 1
	ifc=$(net_iface "$1")
	ip addr flush dev "$ifc" && ip addr add 10.0.2.15/24 dev "$ifc" &&
		ip link set "$ifc" up
}

net_down() {
	ip link set "$(net_iface "$1")" down 2>/dev/null
	[ -e "$1/driver" ] && basename "$1" >"$1/driver/unbind"
	return 0
}

net_stat() { cat "$1/virtio"*/net/*/statistics/"$2"; }

# test_net_works DEV: an ARP request to the gateway is answered.
test_net_works() {
	net_up "$1" || return 1
	arping -c 1 -w 5 -I "$(net_iface "$1")" 10.0.2.2
}

# test_dma_refused DEV: with DEV blocked and its driver up, an ARP request
# makes QEMU's virtio-net DMA (its rings), which VT-d refuses: a fault for
# DEV's source ID since DEV was blocked (/tmp/net-faults, the count before;
# QEMU stops DMA for the device after the first), and no packet goes out or
# comes in.
test_dma_refused() {
	is_vtd || { not_vtd; return; }
	net_up "$1" || return 1
	tx=$(net_stat "$1" tx_packets)
	rx=$(net_stat "$1" rx_packets)
	if arping -c 2 -w 3 -I "$(net_iface "$1")" 10.0.2.2; then
		echo "the gateway answered"
		return 1
	fi
	sleep 0.5
	faults=$(($(dmar_faults "$1") - $(cat /tmp/net-faults)))
	tx=$(($(net_stat "$1" tx_packets) - tx))
	rx=$(($(net_stat "$1" rx_packets) - rx))
	echo "$faults DMA faults for $(basename "$1"), $tx packets sent, $rx received"
	[ "$faults" -gt 0 ] && [ "$tx" -eq 0 ] && [ "$rx" -eq 0 ]
}

# test_net_reset_recovers DEV: with the driver unbound, an FLR succeeds and
# unblocks DEV, which then sends and receives again.
test_net_reset_recovers() {
	net_down "$1"
	echo default >"$1/reset_method"
	test_flr_prepare_done "$1" || return 1
	test_not_blocked "$1" || return 1
	test_net_works "$1"
}

# test_net_quarantined DEV: DEV's device-TLB invalidation times out on the
# unmap of a packet it sent; it is quarantined.
test_net_quarantined() {
	net_up "$1" || return 1
	dmar_faults "$1" >/tmp/net-faults
	arm_atc_timeout "$1" || return 1
	arping -c 1 -w 2 -I "$(net_iface "$1")" 10.0.2.2 >/dev/null
	wait_vtd_blocked "$1" 50
	rc=$?
	disarm_atc_timeout
	[ $rc -eq 0 ] || echo "$(basename "$1") is not blocked"
	return $rc
}

# test_net_failed_reset DEV: with the driver unbound, an FLR made to fail
# leaves DEV blocked.
test_net_failed_reset() {
	net_down "$1"
	dmar_faults "$1" >/tmp/net-faults
	test_failed_flr "$1" && test_blocked "$1"
}

dma_refused_suite() {
	net=$(net_dev) || { ktap fail dma_refused "no virtio-net device"; return; }
	is_vtd || { run_test dma_refused_after_quarantine not_vtd; return; }
	run_test net_works "test_net_works" "$net"
	run_test net_quarantined test_net_quarantined "$net"
	run_test dma_refused_after_quarantine test_dma_refused "$net"
	run_test net_reset_ends_quarantine test_net_reset_recovers "$net"
	run_test net_failed_reset test_net_failed_reset "$net"
	run_test dma_refused_after_failed_reset test_dma_refused "$net"
	run_test net_reset_after_failed_reset test_net_reset_recovers "$net"
	net_down "$net"
}

warnings_before=$(kernel_warnings)
reset_tracing || ktap fail tracing.quarantine "cannot trace pci_dev_reset_iommu_prepare/done/cancel"
quarantine_suite_for fn0 fn1
fence_suite_for fn1
blame_suite_for fn0 dma
dma_refused_suite
stop_uevent_listener
run_test no_kernel_warning.quarantine test_no_new_warning "$warnings_before"
