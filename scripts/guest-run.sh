#!/usr/bin/env bash
# make guest NAME=x [SUITES=a,b] [DRY_RUN=1]: build what one guest of
# tests/guests.tsv needs (its kernel, the x86 guest programs) from
# build/linux as it is, boot it once and print its results, ending with
# "N passed, N failed, N skipped" for that guest alone. DRY_RUN=1 prints its
# QEMU command line instead. GUEST_LIMIT=s overrides its time limit.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"

name=${1:-}
suites=${2:-}
[ -n "$name" ] || die "which guest? make guest NAME=<guest>, one of: $(guest_names | tr '\n' ' ')"
flavour=$(guest_field "$name" 3) ||
	die "no guest '$name' in ${GUEST_TABLE#"$TOP"/}; the guests are: $(guest_names | tr '\n' ' ')"

if [ -n "${DRY_RUN:-}" ]; then
	qemu_cmdline "$(guest_field "$name" 2)" "$(kernel_image "$flavour")" \
		"$GUESTS/initramfs-$(machine_arch "$(guest_field "$name" 2)").cpio.gz" \
		"$GUESTS/$name/results.ktap" \
		"ktest.suites=${suites:-$(guest_field "$name" 4)} $(guest_field "$name" 7)" \
		/tmp/ktest-qmp.dry-run "$(guest_field "$name" 6)"
	printf '%q ' "${QEMU_CMD[@]}"
	echo
	exit 0
fi

"$TOP/scripts/deps.sh" all
[ -d "$LINUX" ] || "$TOP/scripts/tree.sh"
step "guest $name: building from build/linux as it is ($(git -C "$LINUX" describe --always --tags --dirty))"
build "$flavour"
if [ "$(machine_arch "$(guest_field "$name" 2)")" = x86_64 ]; then
	build_x86_guest_programs || die "the guest programs did not build: see $LOGS/kselftest.log"
fi
boot_guest "$name" "$suites"
python3 "$TOP/scripts/results.py" "$BUILD" --guest "$name" ${suites:+--some-suites}
