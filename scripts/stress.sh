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
# PART=stress|stress-unplug|scale runs one of them (each takes up to
# STRESS_LIMIT seconds); without PART, all three, one after the other.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

STRESS_LIMIT=${STRESS_LIMIT:-3600}
PARTS="stress stress-unplug scale"
PART=${PART:-}
case " $PARTS " in
*" ${PART:-stress} "*) ;;
*) die "PART=$PART is not a part of make stress: use one of $PARTS, or no PART for all" ;;
esac
wanted() { [[ -z "$PART" || "$PART" == "$1" ]]; }

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
build x86-debug
build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
# A part keeps the results of the others; a whole run starts clean.
if [[ -n "$PART" ]]; then
	rm -rf "${GUESTS:?}/$PART"
else
	rm -rf "$BUILD/results" "${GUESTS:?}"/*/
fi
mkdir -p "$BUILD/results"
if wanted stress; then
	run_guest stress x86-legacy x86-debug debug,stress,leaks "$STRESS_LIMIT" "ktest.stress=full"
fi
if wanted stress-unplug; then
	run_guest stress-unplug x86-legacy x86-debug debug,stress,leaks "$STRESS_LIMIT" \
		"ktest.stress=full ktest.stress_part=unplug lockdep.prove_locking=0" 1
fi
if wanted scale; then
	run_guest scale x86-legacy x86-debug debug,scale,leaks "$STRESS_LIMIT" "ktest.stress=full" 16
fi
step "results (guest consoles: build/guests/*/console.log)"
verdict_args=()
for part in $PARTS; do
	wanted "$part" || continue
	sed -n 's/^# stress: survived/survived/p; s/^# scale: /scale: /p' "$GUESTS/$part/results.ktap"
	verdict_args+=(--guest "$part")
done
# The figures of every part that has run (make figures puts them in README.md).
figure_args=()
for part in $PARTS; do
	[ -f "$GUESTS/$part/console.log" ] && figure_args+=(--guest "$part")
done
python3 "$TOP/scripts/results.py" "${figure_args[@]}" --figures "$BUILD/results/stress-figures.md" "$BUILD" >/dev/null || true
python3 "$TOP/scripts/results.py" "${verdict_args[@]}" "$BUILD" | tee "$BUILD/results/summary-stress${PART:+-$PART}.txt"
exit "${PIPESTATUS[0]}"
