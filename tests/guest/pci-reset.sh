# shellcheck shell=dash
# Suite pci-reset: ATS devices, their reset methods, an FLR through sysfs
# and what it does to the IOMMU, DMA and ATS; a reset made to fail; bad
# input to the sysfs files.
# shellcheck source=tests/guest/lib-reset.sh
. /tests/lib-reset.sh

test_access_platform() {
	v=$(virtio_dev_of_pci "$1") || { echo "no virtio device under $1"; return 1; }
	virtio_has_feature "$v" $VIRTIO_F_ACCESS_PLATFORM && return 0
	echo "$(basename "$1") did not negotiate VIRTIO_F_ACCESS_PLATFORM: its DMA bypasses the IOMMU"
	return 1
}

test_ats_cap() {
	has_ats_cap "$1" || { echo "$(basename "$1") has no ATS capability"; return 1; }
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

# test_ats_follows_blocked DEV: ATS Enable is clear while DEV is blocked and
# set when it is not, whatever the last reset did.
test_ats_follows_blocked() {
	is_vtd || { echo "not applicable: QEMU's SMMUv3 has no ATS"; return $SKIP; }
	n=$(vtd_entries "$1") || return 1
	if [ "$n" -eq 0 ]; then want=0; else want=1; fi
	test_ats_enable "$1" $want
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
# which test_bus_reset_reports checked. A bus reset that failed cannot show
# it: that is a skip, which tests/expected-skips.tsv allows on no machine
# where the reset of the root port's bus succeeds (q35's does).
test_bus_reset_unblocked() {
	if [ "$(cat /tmp/bus-reset-rc)" -ne 0 ]; then
		echo "not shown: the bus reset failed"
		return $SKIP
	fi
	test_not_blocked "$1"
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

warnings_before=$(kernel_warnings)
reset_tracing || ktap fail tracing.pci_reset "cannot trace pci_dev_reset_iommu_prepare/done/cancel"
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
run_test no_kernel_warning.pci_reset test_no_new_warning "$warnings_before"
