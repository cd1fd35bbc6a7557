#!/usr/bin/env bash
# make check [STAGES=a,b,...]: every gate and test of the series, from a
# fresh machine. Each check records one or more KTAP results in
# build/results/host.ktap or (guests) build/guests/NAME/; scripts/results.py
# counts them all, prints the time of each stage, and ends with
# "N passed, N failed, N skipped". A check that cannot run is a failure,
# never a pass.
#
# STAGES, comma-separated, runs a subset (and the last line says so): any of
# gates, builds, guests, stubs, analysis, docs, and guest names of
# tests/guests.tsv (each one booted alone, its kernel built first).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$TOP/scripts/kernel.sh"
. "$TOP/scripts/guest.sh"
# shellcheck source=scripts/check-report.sh
. "$TOP/scripts/check-report.sh"
# shellcheck source=scripts/check-gates.sh
. "$TOP/scripts/check-gates.sh"
# shellcheck source=scripts/check-builds.sh
. "$TOP/scripts/check-builds.sh"
# shellcheck source=scripts/check-guests.sh
. "$TOP/scripts/check-guests.sh"
# shellcheck source=scripts/check-analysis.sh
. "$TOP/scripts/check-analysis.sh"

ALL_STAGES="gates builds guests stubs analysis docs"

# selected STAGE: whether STAGE (or, for guests, any guest) is asked for.
selected() {
	[ -z "${STAGES:-}" ] || [[ ",$STAGES," == *",$1,"* ]]
}

# The guest names among STAGES, or nothing.
selected_guests() {
	local s
	for s in ${STAGES//,/ }; do
		guest_field "$s" 1 >/dev/null 2>&1 && echo "$s"
	done
	return 0
}

check_stages_valid() {
	local s
	for s in ${STAGES//,/ }; do
		[[ " $ALL_STAGES " == *" $s "* ]] || guest_field "$s" 1 >/dev/null 2>&1 ||
			die "STAGES: no stage or guest '$s'; stages: $ALL_STAGES; guests: $(guest_names | tr '\n' ' ')"
	done
}

main() {
	local guests
	check_stages_valid
	guests=$(selected_guests)
	rm -rf "$RESULTS_DIR" "${GUESTS:?}"/*/
	mkdir -p "$RESULTS_DIR"
	: >"$HOST_KTAP"
	step "make check${STAGES:+ (stages $STAGES)}: installing what is missing, fetching the base"
	if ! "$TOP/scripts/deps.sh" all; then
		record fail setup.dependencies "scripts/deps.sh failed (see above)"
		finish "${STAGES:-}"
	fi
	if ! "$TOP/scripts/tree.sh"; then
		record fail setup.kernel_tree "scripts/tree.sh failed (see above)"
		finish "${STAGES:-}"
	fi
	selected gates && stage "series gates" series_gates
	selected builds && stage "per-patch builds" check_bisect
	if selected guests; then
		stage "test kernels and guests" check_guests
	elif [ -n "$guests" ]; then
		# shellcheck disable=SC2086 # one argument per guest
		stage "guests $guests" check_guests $guests
	fi
	selected stubs && stage "builds with the IOMMU API, then PCI ATS, configured out" check_config_stubs
	selected analysis && stage "static analysis against the base (sparse, W=1, coccinelle)" static_analysis
	selected docs && stage "documentation against the base (kernel-doc, ABI, Sphinx)" documentation
	finish "${STAGES:-}"
}

main "$@"
