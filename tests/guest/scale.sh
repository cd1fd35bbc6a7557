# shellcheck shell=dash
# Suite scale: many ATS devices behind one VT-d (the disks ktest-x0.. that
# the host adds, each behind its own root port, in its own group). Half of
# them (the victims) are reset through sysfs concurrently, and each gets an
# injected ATC invalidation timeout in turn while the others are still being
# reset; the other half (the bystanders) keep reading meanwhile and must
# never be blocked nor read wrong data. Then every victim is recovered by an
# FLR and all devices must do DMA with ATS on.
#   ktest.stress=short|full   resets per victim (as suite stress)

DISK_MD5=$(cmdline_arg ktest.disk_md5)
case "$(cmdline_arg ktest.stress)" in
full) RESETS=20 ;;
*) RESETS=4 ;;
esac
W=/tmp/scale
rm -rf $W && mkdir -p $W

# All the extra disks, by serial number: names resolved once, before any
# device is quarantined (a quarantined disk never answers a read of its
# serial).
for b in /sys/block/vd*; do
	s=$(cat "$b/serial")
	case "$s" in ktest-x*) echo "${s#ktest-x} $(basename "$b")" ;; esac
done | sort -n >$W/disks
N=$(wc -l <$W/disks)
HALF=$((N / 2))

disk_of() { sed -n "s/^$1 //p" $W/disks; }

# victim N: RESETS sysfs resets, then (one victim at a time: the fault
# injection names one device) an injected ATC invalidation timeout after
# one read; the victim must be blocked with ATS off within 2 s, while the
# other victims' resets go on. Leaves it quarantined.
victim() {
	disk=$(disk_of "$1")
	dev=$(pci_dev_of_disk "$disk")
	i=0
	while [ $i -lt $RESETS ]; do
		echo 1 >"$dev/reset" || { echo "reset $i of x$1 failed" >>$W/failed; return; }
		i=$((i + 1))
	done
	until mkdir $W/inject.lock 2>/dev/null; do sleep 0.1; done
	arm_atc_timeout "$dev"
	read_one_block "$disk"
	if wait_vtd_blocked "$dev" 20; then
		[ "$(ats_enable "$dev")" = 0 ] || echo "x$1 quarantined with ATS on" >>$W/failed
		echo "x$1" >>$W/quarantined
	else
		echo "x$1 not blocked 2 s after its injected ATC timeout" >>$W/failed
	fi
	disarm_atc_timeout
	rmdir $W/inject.lock
}

# bystander N: reads until the victims are done; each must be right.
bystander() {
	disk=$(disk_of "$1")
	n=0
	while [ ! -e $W/stop ]; do
		sum=$(bounded_md5 "$disk" 2>&1) || { echo "x$1 read $n: $sum" >>$W/failed; break; }
		[ "$sum" = "$DISK_MD5" ] || echo "x$1 read $n: md5 $sum" >>$W/failed
		n=$((n + 1))
	done
	echo "$n" >"$W/reads.x$1"
}

test_enough_devices() {
	echo "$N ATS disks besides the standard devices"
	[ "$N" -ge 16 ]
}

test_all_ats_dma() {
	bad=0
	i=0
	while [ $i -lt "$N" ]; do
		disk=$(disk_of $i)
		dev=$(pci_dev_of_disk "$disk")
		[ "$(ats_enable "$dev")" = 1 ] || { echo "x$i: ATS Enable is $(ats_enable "$dev")"; bad=1; }
		[ "$(vtd_entries "$dev")" != 0 ] || { echo "x$i is blocked"; bad=1; }
		sum=$(bounded_md5 "$disk" 2>&1)
		[ "$sum" = "$DISK_MD5" ] || { echo "x$i: md5 $sum"; bad=1; }
		i=$((i + 1))
	done
	return $bad
}

test_victims_quarantined() {
	n=$(cat $W/quarantined 2>/dev/null | wc -l)
	logged=$(dmesg | grep -c 'ATC invalidation failed: DMA blocked until the device is reset')
	echo "$n of $HALF victims quarantined, $logged quarantines logged"
	[ -e $W/failed ] && { cat $W/failed; return 1; }
	[ "$n" -eq "$HALF" ] && [ "$logged" -eq "$HALF" ]
}

test_bystanders_worked() {
	bad=0
	i=$HALF
	while [ $i -lt "$N" ]; do
		n=$(cat "$W/reads.x$i" 2>/dev/null || echo 0)
		dev=$(pci_dev_of_disk "$(disk_of $i)")
		[ "$n" -gt 0 ] || { echo "x$i did no read"; bad=1; }
		[ "$(vtd_entries "$dev")" != 0 ] || { echo "x$i is blocked"; bad=1; }
		i=$((i + 1))
	done
	[ -e $W/failed ] && { cat $W/failed; bad=1; }
	echo "bystander reads: $(cat $W/reads.x* | tr '\n' ' ')"
	return $bad
}

test_victims_recover() {
	bad=0
	i=0
	while [ $i -lt $HALF ]; do
		dev=$(pci_dev_of_disk "$(disk_of $i)")
		echo 1 >"$dev/reset" || { echo "the FLR of x$i failed"; bad=1; }
		i=$((i + 1))
	done
	return $bad
}

scale_suite() {
	run_test scale.enough_devices test_enough_devices
	[ "$N" -ge 16 ] || return
	run_test scale.all_ats_dma_before test_all_ats_dma
	diag "scale: $HALF victims (x0-x$((HALF - 1))), $((N - HALF)) bystanders, $RESETS resets per victim"
	i=$HALF
	bystanders=
	while [ $i -lt "$N" ]; do
		bystander $i &
		bystanders="$bystanders $!"
		i=$((i + 1))
	done
	i=0
	victims=
	while [ $i -lt $HALF ]; do
		victim $i &
		victims="$victims $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086 # a list of pids
	wait $victims
	touch $W/stop
	# shellcheck disable=SC2086 # a list of pids
	wait $bystanders
	run_test scale.victims_quarantined test_victims_quarantined
	run_test scale.bystanders_worked test_bystanders_worked
	run_test scale.victims_recover test_victims_recover
	run_test scale.all_ats_dma_after test_all_ats_dma
	diag "scale: $((HALF * RESETS + HALF)) resets and $(cat $W/quarantined 2>/dev/null | wc -l) quarantines on $HALF devices while $((N - HALF)) others read"
}

warnings_before=$(kernel_warnings)
if ! is_vtd || [ ! -d $FAIL_ATC ]; then
	run_test scale not_vtd
else
	scale_suite
	run_test scale.no_kernel_warning test_no_new_warning "$warnings_before"
fi
