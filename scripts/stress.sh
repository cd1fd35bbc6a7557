#!/usr/bin/env bash
# make stress: the long form of the stress and scale suites, on the debug
# kernel (lockdep, KASAN, kmemleak, DEBUG_ATOMIC_SLEEP). make check runs the
# short form (ktest.stress=short). Ends with "N passed, N failed, N skipped".
#   stress          resets, quarantines, iommufd attaches and mock episodes at
#                   once (VT-d legacy mode, lockdep proving)
#   stress-unplug   hot-unplug and re-plug cycles driven from the host
#                   (lockdep proving off: 7.3.4's pciehp has a report of its own)
#   scale           16 more ATS disks: resets and quarantines on half of
#                   them while the other half work
# PART=stress|stress-unplug|scale runs one of them (each takes up to
# STRESS_LIMIT seconds); without PART, all three, one after the other.
# Everything lands in build/stress/, apart from make check's: guests/NAME
# (console, KTAP, run-info: when and on what it ran) and figures.md, the
# figures of the parts that have run, for make figures.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

STRESS_LIMIT=${STRESS_LIMIT:-3600}
PARTS="stress stress-unplug scale"
PART=${PART:-}
case "$PART" in
'' | stress | stress-unplug | scale) ;;
*) die "PART=$PART is not a part of make stress: say one of $PARTS, or no PART for all three" ;;
esac
wanted() { [[ -z "$PART" || "$PART" == "$1" ]]; }
STRESS=$BUILD/stress
GUESTS=$STRESS/guests

# run_part NAME SUITES KERNEL_ARGS [EXTRA_DISKS]: one guest, and what it ran on.
run_part() {
	run_guest "$1" x86-legacy x86-debug "$2" "$STRESS_LIMIT" "$3" "${4:-0}"
	echo "$(date -u +%Y-%m-%d), tooling $(git -C "$TOP" describe --always --dirty)," \
		"series $(git -C "$LINUX" describe --always --tags --dirty)" >"$GUESTS/$1/run-info"
}

# write_figures: build/stress/figures.md from every part that has run.
write_figures() {
	local part args=() runs=()
	for part in $PARTS; do
		[ -f "$GUESTS/$part/console.log" ] || continue
		args+=(--guest "$part")
		runs+=("$part: $(cat "$GUESTS/$part/run-info" 2>/dev/null || echo "no run-info")")
	done
	rm -f "$STRESS/figures.md"
	[ ${#args[@]} -gt 0 ] || return 0
	python3 "$TOP/scripts/results.py" "${args[@]}" --figures "$STRESS/figures.md.run" "$STRESS" >/dev/null || true
	[ -s "$STRESS/figures.md.run" ] || return 0
	{
		if [ ${#runs[@]} -eq 3 ]; then echo "\`make stress\`, all three parts:"; else echo "\`make stress\`, some parts:"; fi
		echo
		printf -- '- %s\n' "${runs[@]}"
		echo
		cat "$STRESS/figures.md.run"
	} >"$STRESS/figures.md"
	rm -f "$STRESS/figures.md.run"
}

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
build x86-debug
build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
mkdir -p "$GUESTS"
rm -f "$STRESS/figures.md"
wanted stress && run_part stress debug,stress,leaks "ktest.stress=full"
wanted stress-unplug && run_part stress-unplug debug,stress,leaks \
	"ktest.stress=full ktest.stress_part=unplug lockdep.prove_locking=0" 1
# Scale resets 8 devices at once. Each reset evaluates ACPI _PRT
# (virtio_pci_reset_done -> pci_enable_device) under the one ACPI interpreter
# mutex, which takes seconds under TCG and KASAN: a reset queued behind the
# other seven waited more than the debug kernel's 60 s hung-task timeout
# (seen once, progress going on). 300 s still names a real deadlock.
wanted scale && run_part scale debug,scale,leaks "ktest.stress=full sysctl.kernel.hung_task_timeout_secs=300" 16
step "results (guest consoles: build/stress/guests/*/console.log)"
verdict_args=()
for part in $PARTS; do
	wanted "$part" || continue
	[ -f "$GUESTS/$part/results.ktap" ] &&
		sed -n 's/^# stress: survived/survived/p; s/^# scale: /scale: /p' "$GUESTS/$part/results.ktap"
	verdict_args+=(--guest "$part")
done
write_figures
python3 "$TOP/scripts/results.py" "${verdict_args[@]}" "$STRESS"
