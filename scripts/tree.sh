#!/usr/bin/env bash
# Make build/linux a git tree of the base (tag "base") with series/ applied
# on branch "series". Idempotent: re-applies only when series/ changed, and
# never throws away commits or edits that are only in build/linux.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

base_deb() {
	local debs=("$CACHE"/debs/"${BASE_PACKAGE:-linux-source-7.3}"_*.deb)
	[ -f "${debs[0]}" ] || die "no ${BASE_PACKAGE:-linux-source-7.3} package in $CACHE/debs: run scripts/deps.sh base"
	[ ${#debs[@]} -eq 1 ] || die "several base packages in $CACHE/debs (${debs[*]##*/}): keep the one to use"
	echo "${debs[0]}"
}

# Unpack the Debian source package and commit it as the pristine base.
create_base_tree() {
	local deb version tarball tmp
	deb=$(base_deb)
	version=$(dpkg-deb -f "$deb" Version)
	tarball=$(dpkg-deb -c "$deb" | awk '{print $NF}' | grep -m1 '/usr/src/linux-source-.*\.tar\.xz$') ||
		die "$deb holds no linux-source tarball"
	step "unpacking $(basename "$deb") into $LINUX"
	tmp=$BUILD/linux.unpacking
	rm -rf "$tmp" && mkdir -p "$tmp"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" | tar -xJ -C "$tmp"
	mv "$tmp"/linux-source-* "$tmp/linux"
	# Debian's top-level .gitignore ends with a block that ignores every
	# top-level entry: cut it, or git sees no files at all.
	python3 "$TOP/scripts/gitignore-strip.py" "$tmp/linux/.gitignore"
	step "committing the base tree (git add of ~96k files)"
	(
		cd "$tmp/linux"
		git init -q -b series
		git config core.abbrev 12
		git add -A
		# Dot-files upstream tracks (.kunitconfig, nested .gitignore, ...)
		# are still ignored by upstream's own .gitignore rules: add them too.
		git ls-files -z --others --ignored --exclude-standard | xargs -0 -r git add -f
		git commit -q -m "Linux $(make -s kernelversion) (Debian linux-source $version)"
		git tag -a base -m "Debian $(basename "$deb")"
		[ -z "$(git status --porcelain --ignored)" ] || die "files left untracked in the base tree"
	)
	echo "$version" >"$tmp/linux/.git/base-version"
	mv "$tmp/linux" "$LINUX"
	rmdir "$tmp"
}

tree_is_dirty() {
	[ -n "$(git -C "$LINUX" status --porcelain --untracked-files=no)" ]
}

apply_series() {
	local p n=0
	git -C "$LINUX" checkout -q -B series base
	for p in $(series_patches); do
		n=$((n + 1))
		if ! git -C "$LINUX" am -q "$p" >"$LOGS/git-am.log" 2>&1; then
			git -C "$LINUX" am --abort >/dev/null 2>&1 || true
			git -C "$LINUX" checkout -q -B series base
			rm -f "$SERIES_STATE"
			printf '\nerror: patch %s does not apply to the base. git am said:\n' "${p#"$TOP"/}" >&2
			sed 's/^/    | /' "$LOGS/git-am.log" >&2
			die "fix the patch (apply it by hand in build/linux with git am --3way, commit, make export)"
		fi
	done
	record_series_state
	step "applied $n patches of series/ on top of base ($(cat "$LINUX/.git/base-version"))"
}

sync_series() {
	local want have_hash="" have_head="" head
	want=$(series_hash)
	[ -f "$SERIES_STATE" ] && read -r have_hash have_head <"$SERIES_STATE"
	head=$(git -C "$LINUX" rev-parse HEAD)
	if tree_is_dirty; then
		die "build/linux has uncommitted changes; commit them (then 'make export') or stash them, and run again"
	fi
	if [ "$want" = "$have_hash" ]; then
		if [ "$head" != "$have_head" ]; then
			step "note: build/linux has commits that series/ does not hold yet (run 'make export'); using the tree as it is"
		fi
		return 0
	fi
	# No record of what was applied (the last apply failed), yet commits on
	# top of base: they were made by hand, keep them.
	if [ -z "$have_head" ] && [ "$head" != "$(git -C "$LINUX" rev-parse base)" ]; then
		die "build/linux has commits on top of base that series/ does not hold.
  To keep them: make export. To take series/: git -C build/linux branch -m series series-old, then run again."
	fi
	if [ -n "$have_head" ] && [ "$head" != "$have_head" ]; then
		die "series/ changed and build/linux also has commits of its own since the last apply.
  To keep build/linux: make export (this rewrites series/ from build/linux).
  To take series/: git -C build/linux branch -m series series-old, then run again."
	fi
	step "series/ changed: re-applying it"
	apply_series
}

if ! git -C "$LINUX" rev-parse -q --verify base >/dev/null 2>&1; then
	[ ! -e "$LINUX" ] || die "$LINUX exists but is not a tree made by this tooling (no tag 'base'): move it away"
	create_base_tree
	apply_series
else
	sync_series
fi
