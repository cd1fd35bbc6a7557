#!/usr/bin/env bash
# Install the Debian packages the tooling needs (only those missing), and
# fetch what bookworm does not carry (the linux-source-7.3 package, a sparse
# that understands 7.3, an arm64 busybox) through a private apt setup that
# leaves the machine's own apt configuration alone.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ocaml-nox: coccinelle's OCaml-scripted rules (make coccicheck) stop with
# "No OCaml compiler found" without it. Sphinx and its theme: the
# documentation gate.
HOST_PACKAGES=(
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod rsync
	xz-utils git ccache python3 perl gcc-aarch64-linux-gnu
	binutils-aarch64-linux-gnu qemu-system-x86 qemu-system-arm
	busybox-static coccinelle libcap-dev shellcheck python3-sphinx
	python3-sphinx-rtd-theme python3-yaml ocaml-nox python3-pytest
)
# The base: Debian's linux-source package for 7.3, from the suite that
# carries it. Overridable, for rebasing onto another version.
BASE_PACKAGE=${BASE_PACKAGE:-linux-source-7.3}
BASE_SUITE=${BASE_SUITE:-trixie-backports}
# sparse >= 0.6.5 (7.3's kbuild silently skips 0.6.4) and the C library it
# needs, run through that library's own loader; nothing gets installed.
NEWER_SUITE=sid

APTDIR=$CACHE/apt
DEBS=$CACHE/debs

install_host_packages() {
	local missing=() p
	for p in "${HOST_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run as root or install them with apt-get"
	step "installing ${missing[*]}"
	run_logged "$LOGS/apt-install.log" apt-get update -q ||
		die "apt-get update failed: see $LOGS/apt-install.log"
	DEBIAN_FRONTEND=noninteractive run_logged "$LOGS/apt-install.log" \
		apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		die "apt-get install ${missing[*]} failed: see $LOGS/apt-install.log"
}

# The machine's Debian mirror, as its apt configuration names it.
debian_mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then
		echo "$DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(apt-cache policy 2>/dev/null | awk '$3 ~ /^bookworm\/main$/ {print $2; exit}')
	[ -n "$uri" ] || die "cannot find the Debian mirror in the apt configuration (apt-cache policy shows no bookworm/main); set DEBIAN_MIRROR=URI"
	echo "$uri"
}

PRIVATE_APT=(
	-o "Dir::Etc::sourcelist=$APTDIR/sources.list" -o Dir::Etc::sourceparts=-
	-o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o APT::Architectures::=amd64 -o APT::Architectures::=arm64
	-o Acquire::Languages=none
)

update_private_apt() {
	local mirror list=$APTDIR/sources.list
	mirror=$(debian_mirror)
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
	{
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $BASE_SUITE main"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $NEWER_SUITE main"
	} >"$list.new"
	mv "$list.new" "$list"
	step "reading package lists of $BASE_SUITE and $NEWER_SUITE (private apt dir $APTDIR)"
	run_logged "$LOGS/apt-private.log" apt-get "${PRIVATE_APT[@]}" update -q ||
		die "could not read $BASE_SUITE/$NEWER_SUITE from $mirror: see $LOGS/apt-private.log"
}

# download PKG[/SUITE] into $DEBS unless a .deb of it is there already.
download_deb() {
	local spec=$1 name=${1%%/*}
	name=${name%%:*}
	if compgen -G "$DEBS/${name}_*.deb" >/dev/null; then
		return 0
	fi
	[ -f "$APTDIR/lists/.updated" ] || { update_private_apt && touch "$APTDIR/lists/.updated"; }
	mkdir -p "$DEBS"
	(cd "$DEBS" && run_logged "$LOGS/apt-download-$name.log" apt-get "${PRIVATE_APT[@]}" download "$spec") ||
		return 1
}

fetch_base_package() {
	# A failure may come from stale package lists: read them again once.
	if ! download_deb "$BASE_PACKAGE/$BASE_SUITE" &&
		! { update_private_apt && download_deb "$BASE_PACKAGE/$BASE_SUITE"; }; then
		local offered
		offered=$(apt-cache "${PRIVATE_APT[@]}" pkgnames linux-source- 2>/dev/null | sort -V | tr '\n' ' ')
		die "the mirror no longer serves $BASE_PACKAGE in $BASE_SUITE.
  It offers: ${offered:-no linux-source package}
  Rebase the series onto one of those: move build/linux aside (its branch
  'series' keeps your commits), run BASE_PACKAGE=linux-source-X.Y BASE_SUITE=SUITE make tree,
  fix the patches that no longer apply (git am --3way in build/linux), then make export."
	fi
}

fetch_sparse() {
	download_deb "sparse/$NEWER_SUITE" || die "cannot download sparse from $NEWER_SUITE: see $LOGS/apt-download-sparse.log"
	download_deb "libc6/$NEWER_SUITE" || die "cannot download libc6 from $NEWER_SUITE: see $LOGS/apt-download-libc6.log"
	local root=$CACHE/sparse
	if [ ! -x "$root/usr/bin/sparse" ]; then
		rm -rf "$root" && mkdir -p "$root"
		dpkg-deb -x "$DEBS"/sparse_*.deb "$root"
		dpkg-deb -x "$DEBS"/libc6_*.deb "$root"
	fi
	cat >"$BUILD/sparse" <<WRAP
#!/bin/sh
# sparse from Debian $NEWER_SUITE, run with its own C library (bookworm's is too old).
lib=$root/usr/lib/x86_64-linux-gnu
exec "\$lib/ld-linux-x86-64.so.2" --library-path "\$lib" "$root/usr/bin/sparse" "\$@"
WRAP
	chmod +x "$BUILD/sparse"
	"$BUILD/sparse" --version >/dev/null 2>&1 || die "the downloaded sparse does not run: try $BUILD/sparse --version"
}

fetch_arm64_busybox() {
	download_deb "busybox-static:arm64/$NEWER_SUITE" ||
		die "cannot download busybox-static:arm64: see $LOGS/apt-download-busybox-static.log"
	if [ ! -x "$ARM64_BUSYBOX" ]; then
		rm -rf "$CACHE/busybox-arm64"
		dpkg-deb -x "$DEBS"/busybox-static_*_arm64.deb "$CACHE/busybox-arm64"
		[ -x "$ARM64_BUSYBOX" ] || die "no usr/bin/busybox in $(echo "$DEBS"/busybox-static_*_arm64.deb)"
	fi
}

install_host_packages
case "${1:-all}" in
host) ;;
base) fetch_base_package ;;
all)
	fetch_base_package
	fetch_sparse
	fetch_arm64_busybox
	;;
*) die "usage: deps.sh [host|base|all]" ;;
esac
