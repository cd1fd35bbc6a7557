#!/usr/bin/env bash
# make demo: build the x86_64 kernel with the series, boot the VT-d machine
# and print the timelines of a reset through sysfs of an ATS device, of its
# quarantine after an (injected) ATC invalidation timeout, and of the reset
# that ends it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

"$TOP/scripts/deps.sh" all
"$TOP/scripts/tree.sh"
build x86
[ -x "$BUILD/guest-programs/timed-reset" ] || build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
run_guest demo x86-legacy x86 demo 300
echo
sed -n 's/^# demo: //p' "$GUESTS/demo/results.ktap"
echo
if grep -q '^ok .*demo.dma_after_reset' "$GUESTS/demo/results.ktap" &&
	grep -q '^ok .*demo.dma_after_quarantine' "$GUESTS/demo/results.ktap"; then
	step "demo finished; full console log: build/guests/demo/console.log"
else
	die "the demo did not complete: see build/guests/demo/console.log"
fi
