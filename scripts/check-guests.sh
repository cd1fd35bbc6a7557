# shellcheck shell=bash
# The guests of make check (tests/guests.tsv), on the kernels they need.
# Sourced by scripts/check.sh.

# check_guests [NAME...]: the guests NAME (all of tests/guests.tsv if none),
# each once, on the kernels that built.
check_guests() {
	local names name flavour built=" " programs=1
	names=${*:-$(guest_names)}
	for flavour in $(for name in $names; do guest_field "$name" 3; done | sort -u); do
		gate "build.$flavour" "$TOP/scripts/kernel.sh" "$flavour" && built+="$flavour "
	done
	# The x86 guests run the kselftests and tools built against kernel-x86
	if [[ $built == *" x86"* ]]; then
		gate build.guest_programs build_x86_guest_programs || programs=0
	fi
	for name in $names; do
		flavour=$(guest_field "$name" 3)
		if [[ $built != *" $flavour "* ]]; then
			record fail "guests.$name" "no kernel-$flavour: see its build failure above"
		elif [ "$(machine_arch "$(guest_field "$name" 2)")" = x86_64 ] && [ $programs = 0 ]; then
			record fail "guests.$name" "no x86 guest programs: see build.guest_programs above"
		else
			boot_guest "$name"
		fi
	done
}
