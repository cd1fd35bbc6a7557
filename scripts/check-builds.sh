# shellcheck shell=bash
# The builds of make check: every patch on its own (x86_64, and arm64 where
# SMMUv3, the core, PCI or headers change), and the series with the IOMMU
# API or PCI ATS configured out. Sourced by scripts/check.sh.


# Patches touching these need the arm64 build too (SMMUv3 has no COMPILE_TEST).
touches_arm64() {
	git -C "$LINUX" diff --name-only "$1^" "$1" | grep -qE '^(drivers/iommu/(arm/|[^/]*$)|include/|drivers/pci/[^/]*$)'
}

# Every patch builds on its own: walk the series in build/linux, building
# the x86 test kernel (and arm64 where it matters) at each step.
check_bisect() {
	local commits c n=0 name head
	commits=$(git -C "$LINUX" rev-list --reverse base..HEAD)
	[ -n "$commits" ] || { record pass bisect.empty_series; return 0; }
	head=$(git -C "$LINUX" symbolic-ref -q --short HEAD || git -C "$LINUX" rev-parse HEAD)
	# Back where it was whatever happens (the tree was clean: tree.sh).
	trap 'git -C "$LINUX" checkout -q "$head"' EXIT
	for c in $commits; do
		n=$((n + 1))
		name=$(printf '%04d-%s' "$n" "$(git -C "$LINUX" log -1 --format=%f "$c" | cut -c1-52)")
		git -C "$LINUX" checkout -q --detach "$c"
		gate "bisect.$name.x86" env BISECT_BUILD=1 "$TOP/scripts/kernel.sh" x86 || true
		if touches_arm64 "$c"; then
			gate "bisect.$name.arm64" env BISECT_BUILD=1 "$TOP/scripts/kernel.sh" arm64 || true
		fi
	done
	git -C "$LINUX" checkout -q "$head"
	trap - EXIT
}

# Builds with the IOMMU API or PCI ATS configured out: the stubs compile.
check_config_stubs() {
	gate build.x86-no-iommu-api "$TOP/scripts/kernel.sh" x86-no-iommu-api || true
	gate build.x86-no-pci-ats "$TOP/scripts/kernel.sh" x86-no-pci-ats || true
}
