# shellcheck shell=dash
# Suite demo: a readable timeline of what a reset through sysfs does to an
# ATS device behind the IOMMU. Lines "# demo: ..." are shown by make demo.

say() { diag "demo: $*"; }

DISK_MD5=$(cmdline_arg ktest.disk_md5)
disk=$(disk_by_serial ktest-dma)
dev=$(pci_dev_of_disk "$disk")
bdf=$(basename "$dev")

describe_call() {
	case "$1" in
	pcie_flr*) echo "sysfs reset: Function Level Reset starts" ;;
	pci_dev_reset_iommu_prepare*) echo "IOMMU core: reset prepare, the device is moved to the group's blocking domain" ;;
	blocking_domain_attach_dev*) echo "  blocking domain attached: the device's DMA is BLOCKED" ;;
	pci_disable_ats*) echo "  ATS disabled in the device while it is blocked" ;;
	pci_dev_wait*) echo "  waiting for the device to come back from the FLR" ;;
	pci_dev_reset_iommu_done*) echo "IOMMU core: reset done, the retained DMA domain is re-attached" ;;
	intel_iommu_attach_device*) echo "  VT-d: DMA domain attached again: RESTORED" ;;
	pci_enable_ats*) echo "  ATS enabled in the device again" ;;
	intel_iommu_atc_timed_out*) echo "VT-d: Invalidation Time-out Error for the device's source ID, in the unmap: FENCE, its context entry loses the device-TLB permission, caches invalidated" ;;
	pci_clear_ats_enable*) echo "  VT-d, still in the unmap: ATS Enable cleared at the device; from now on no device-TLB invalidation to it" ;;
	iommu_report_device_broken*) echo "  VT-d reports the device broken to the IOMMU core, which blocks it later, from a work item" ;;
	iommu_device_broken_work*) echo "IOMMU core, in process context: QUARANTINE, the device is moved to the blocking domain" ;;
	intel_iommu_reset_device_done*) echo "  VT-d: reset_device_done, the device may use ATS again" ;;
	*) echo "$1" ;;
	esac
}

dma_state() {
	if [ "$(disk_md5 "$disk")" = "$DISK_MD5" ]; then
		echo "DMA works (O_DIRECT read of 1 MiB, checksum matches)"
	else
		echo "DMA FAILS (O_DIRECT read does not match)"
	fi
}

ats_state() {
	ctx=""
	if is_vtd; then
		lo=$(vtd_context_lo "$dev")
		ctx=", VT-d context entry allows device-TLB: $(((lo >> 2) & 1))"
	fi
	echo "ATS Enable=$(ats_enable "$dev")$ctx"
}

say "device $bdf: virtio-blk /dev/$disk, ATS capability, IOMMU group $(iommu_group_of "$dev") ($(cat "$dev/iommu_group/type"))"
say "reset methods: $(cat "$dev/reset_method")"
say "ATTACHED: $(ats_state)"
say "$(dma_state)"
# The function tracer is set up once per boot (tests/guest/lib.sh).
ftrace_setup pcie_flr pci_dev_reset_iommu_prepare blocking_domain_attach_dev pci_disable_ats \
	pci_dev_wait pci_dev_reset_iommu_done intel_iommu_attach_device pci_enable_ats \
	intel_iommu_atc_timed_out pci_clear_ats_enable iommu_report_device_broken \
	iommu_device_broken_work \
	intel_iommu_reset_device_done

# timeline: the calls recorded since ftrace_record, from the first one.
timeline() {
	ftrace_calls >/tmp/demo.calls
	t0=$(head -n 1 /tmp/demo.calls | cut -d' ' -f1)
	while read -r t call; do
		say "$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "  %+8.3f ms", (a - b) * 1000 }')  $(describe_call "$call")"
	done </tmp/demo.calls
}

flr() {
	ftrace_record
	echo 1 >"$dev/reset" && rc=ok || rc=failed
	say "echo 1 > /sys/bus/pci/devices/$bdf/reset: $rc"
	timeline
}

say "--- 1. A reset through sysfs ---"
flr
say "after the reset: $(ats_state)"
say "$(dma_state)"
run_test demo.dma_after_reset test "$(disk_md5 "$disk")" = "$DISK_MD5"

say "--- 2. The device stops answering ATC invalidations ---"
if ! is_vtd || [ ! -d $FAIL_ATC ]; then
	say "no VT-d or no CONFIG_FAIL_IOMMU_ATC_INV: no quarantine to show"
	return 0
fi
rm -f /tmp/uevents
uevent sh -c 'env >>/tmp/uevents' &
uevent_pid=$!
sleep 0.2
arm_atc_timeout "$dev"
say "fault injection: the next ATC invalidation to $bdf times out, as the hardware reports it (ITE)"
ftrace_record
dd if="/dev/$disk" of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null
say "one 4 KiB O_DIRECT read from /dev/$disk: its unmap invalidates the device's ATC"
sleep 0.5
timeline
disarm_atc_timeout
kill $uevent_pid
say "kernel log: $(dmesg | grep -m 1 "$bdf: ATC invalidation failed" | sed 's/^\[[^]]*\] //')"
say "uevent: $(grep -m 1 IOMMU_DEVICE_NEEDS_RESET /tmp/uevents) for $(grep -m 1 "^DEVPATH=.*$bdf" /tmp/uevents)"
say "QUARANTINED: $(ats_state), VT-d translation entries: $(vtd_entries "$dev")"
say "DMA from it would fault: not attempted (virtio-blk would wait forever for it)"
say "--- 3. A reset through sysfs ends the quarantine ---"
flr
say "after the reset: $(ats_state)"
say "$(dma_state)"
run_test demo.dma_after_quarantine test "$(disk_md5 "$disk")" = "$DISK_MD5"
