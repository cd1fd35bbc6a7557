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
ftrace_setup pcie_flr pci_dev_reset_iommu_prepare blocking_domain_attach_dev pci_disable_ats \
	pci_dev_wait pci_dev_reset_iommu_done intel_iommu_attach_device pci_enable_ats
ftrace_record
echo 1 >"$dev/reset" && rc=ok || rc=failed
ftrace_calls >/tmp/demo.calls
say "echo 1 > /sys/bus/pci/devices/$bdf/reset: $rc"
t0=$(head -n 1 /tmp/demo.calls | cut -d' ' -f1)
while read -r t call; do
	say "$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "  %+8.3f ms", (a - b) * 1000 }')  $(describe_call "$call")"
done </tmp/demo.calls
say "after the reset: $(ats_state)"
say "$(dma_state)"
run_test demo.dma_after_reset test "$(disk_md5 "$disk")" = "$DISK_MD5"
