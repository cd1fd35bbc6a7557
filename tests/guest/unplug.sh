# shellcheck shell=dash
# Suite unplug: hot-unplug from the host (QEMU monitor) of a quarantined
# device, and of a device whose ATC invalidation times out while it is
# removed.
# shellcheck source=tests/guest/lib-reset.sh
. /tests/lib-reset.sh

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
unplug_suite
stop_uevent_listener
run_test no_kernel_warning.unplug test_no_new_warning "$warnings_before"
