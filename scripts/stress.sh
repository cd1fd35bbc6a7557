#!/usr/bin/env bash
# make stress: the long form of the stress and scale suites, on the debug
# kernel (lockdep, KASAN, kmemleak, DEBUG_ATOMIC_SLEEP). make check runs the
# short form (ktest.stress=short). Ends with "N passed, N failed".
#   stress          resets, quarantines, iommufd attaches and mock episodes at
#                   once (VT-d legacy mode, lockdep proving)
#   stress-unplug   hot-unplug and re-plug cycles driven from the host
#                   (lockdep proving off: 7.3.4's pciehp has a report of its own)
#   scale           16 more ATS devices: resets and quarantines on half of
#                   them while the other half work
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

STRESS_LIMIT=${STRESS_LIMIT:-3600}

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
build x86-debug
build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
rm -rf "$BUILD/results" "${GUESTS:?}"/*/
mkdir -p "$BUILD/results"
run_guest stress x86-legacy x86-debug debug,stress,leaks "$STRESS_LIMIT" "ktest.stress=full"
run_guest stress-unplug x86-legacy x86-debug debug,stress,leaks "$STRESS_LIMIT" \
	"ktest.stress=full ktest.stress_part=unplug lockdep.prove_locking=0" 1
run_guest scale x86-legacy x86-debug debug,scale,leaks "$STRESS_LIMIT" "ktest.stress=full" 16
step "results (guest consoles: build/guests/*/console.log)"
sed -n 's/^# stress: survived/survived/p; s/^# scale: /scale: /p' "$GUESTS"/*/results.ktap
python3 "$TOP/scripts/results.py" "$BUILD" | tee "$BUILD/results/summary.txt"
exit "${PIPESTATUS[0]}"
