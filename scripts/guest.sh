# shellcheck shell=bash
# The QEMU test machines: initramfs, disk image, command lines, runs.
# Sourced by check.sh and demo.sh after lib.sh.

GUESTS=$BUILD/guests

# Machines: x86-legacy and x86-scalable (q35 with VT-d, legacy or scalable
# mode), x86-legacy-cm (x86-legacy with VT-d's caching mode, for make
# bench), arm64 (virt with SMMUv3). All have the same PCIe devices.
machine_arch() {
	case "$1" in
	x86-*) echo x86_64 ;;
	arm64) echo arm64 ;;
	*) die "unknown machine '$1'" ;;
	esac
}

# The guests, as data: tests/guests.tsv, one line each (its header says
# what the fields are).
GUEST_TABLE=$TOP/tests/guests.tsv

# guest_names: every guest of the table, in order.
guest_names() {
	table_names "$GUEST_TABLE"
}

# guest_field NAME N: field N (1: name, 2: machine, 3: kernel flavour,
# 4: suites, 5: time limit, 6: extra disks, 7: kernel arguments, 8: KUnit
# suites) of guest NAME; fails for no such guest.
guest_field() {
	table_field "$GUEST_TABLE" "$1" "$2"
}

# boot_guest NAME [SUITES]: boot guest NAME of the table once, with its own
# suites or SUITES; its console and results land in build/guests/NAME/.
boot_guest() {
	local name=$1 suites=${2:-}
	guest_field "$name" 1 >/dev/null || die "no guest '$name' in ${GUEST_TABLE#"$TOP"/}; the guests are: $(guest_names | tr '\n' ' ')"
	run_guest "$name" "$(guest_field "$name" 2)" "$(guest_field "$name" 3)" \
		"${suites:-$(guest_field "$name" 4)}" "${GUEST_LIMIT:-$(guest_field "$name" 5)}" \
		"$(guest_field "$name" 7)" "$(guest_field "$name" 6)"
}

# The test disk: random data, so a DMA through a wrong translation cannot
# read back the right checksum by chance. Read-only in the guest.
DISK=$GUESTS/disk.img
make_disk() {
	mkdir -p "$GUESTS" "$(dirname "$DISK")"
	[ -f "$DISK" ] || head -c 4M /dev/urandom >"$DISK"
}

disk_md5() {
	head -c 1M "$DISK" | md5sum | cut -d' ' -f1
}

# build_initramfs ARCH: busybox, /init and the suites of tests/guest, and on
# x86_64 the static programs of build_x86_guest_programs.
build_initramfs() {
	local arch=$1 root out=$GUESTS/initramfs-$1.cpio.gz busybox f
	case "$arch" in
	x86_64) busybox=/bin/busybox ;;
	arm64) busybox=$ARM64_BUSYBOX ;;
	esac
	[ -x "$busybox" ] || die "no static busybox for $arch at $busybox: run scripts/deps.sh"
	root=$GUESTS/initramfs-$arch
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/tests"
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	install -m 755 "$TOP/tests/guest/init" "$root/init"
	cp "$TOP"/tests/guest/*.sh "$root/tests/"
	if [ "$arch" = x86_64 ]; then
		for f in $X86_GUEST_PROGRAMS; do
			cp "$BUILD/guest-programs/$f" "$root/bin/" ||
				die "no guest program $f: build it first (build_x86_guest_programs)"
		done
	fi
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
	echo "$out"
}

# build_x86_guest_programs: the static programs of the x86_64 initramfs,
# against the uAPI headers of the x86 kernel build: the kselftests of
# tools/testing/selftests/iommu, the kernel's dma_map_benchmark (tools/dma)
# and the test tools of tests/tools.
KSELFTEST_TIMEOUT=300
X86_GUEST_PROGRAMS="iommufd iommufd_fail_nth dma_map_benchmark iommufd-attach timed-reset"
build_x86_guest_programs() {
	local out=$BUILD/kernel-x86 bin=$BUILD/guest-programs f
	step "building the x86_64 guest programs (static): iommu kselftests, dma_map_benchmark, tests/tools"
	run_logged "$LOGS/kselftest.log" make -C "$LINUX" O="$out" ARCH=x86_64 headers || return 1
	run_logged "$LOGS/kselftest.log" make -C "$LINUX/tools/testing/selftests" TARGETS=iommu \
		O="$BUILD/kselftest-build" OUTPUT="$BUILD/kselftest" \
		KHDR_INCLUDES="-isystem $out/usr/include" LDFLAGS=-static -j"$JOBS" || return 1
	# The guests run the same sources built again with a per-case timeout
	# fit for TCG (tests/kselftest/timeout.c says why); the build above
	# stays as the proof that they build the upstream way.
	mkdir -p "$bin"
	for f in iommufd iommufd_fail_nth; do
		run_logged "$LOGS/kselftest.log" gcc -Wall -O2 -Wno-unused-function -D_GNU_SOURCE= \
			-isystem "$out/usr/include" -I "$LINUX/tools/testing/selftests" \
			-DKSELFTEST_TIMEOUT="$KSELFTEST_TIMEOUT" -DKSELFTEST_SOURCE="\"iommu/$f.c\"" \
			-static "$TOP/tests/kselftest/timeout.c" -lcap -o "$bin/$f" || return 1
	done
	run_logged "$LOGS/kselftest.log" gcc -Wall -O2 -D_GNU_SOURCE -isystem "$out/usr/include" \
		-static "$LINUX/tools/dma/dma_map_benchmark.c" -o "$bin/dma_map_benchmark" || return 1
	for f in iommufd-attach timed-reset; do
		run_logged "$LOGS/kselftest.log" gcc -Wall -Werror -O2 -isystem "$out/usr/include" \
			-static "$TOP/tests/tools/$f.c" -o "$bin/$f" || return 1
	done
}

# qemu_cmdline MACHINE KERNEL INITRD RESULTS APPEND QMP [EXTRA_DISKS]: the
# one place that builds a QEMU command line; fills the array QEMU_CMD, and
# QEMU_HOTPLUG with the "ID PROPERTIES" lines of the devices the host agent
# may add again after a device_del (scripts/host-agent.py). With QEMU_ICOUNT
# set (make bench), the guest has one CPU and its clock counts the
# instructions it runs (QEMU's -icount QEMU_ICOUNT), not the host's time.
# shellcheck disable=SC2054 # QEMU options are comma-separated
qemu_cmdline() {
	local machine=$1 kernel=$2 initrd=$3 results=$4 append=$5 qmp=$6 extra_disks=${7:-0} i dev port
	# Every ATS device: virtio with ATS, DMA through the IOMMU
	# (iommu_platform), modern only, behind a PCIe root port.
	local ats=ats=on,iommu_platform=on,disable-legacy=on
	local net_no_ctrl_vq=ctrl_vq=off,ctrl_rx=off,ctrl_vlan=off,ctrl_rx_extra=off
	net_no_ctrl_vq+=,ctrl_mac_addr=off,ctrl_guest_offloads=off,guest_announce=off,mq=off
	local disk="file=$DISK,format=raw,readonly=on,if=none"
	case "$machine" in
	x86-legacy | x86-scalable | x86-legacy-cm)
		local vtd=intel-iommu,intremap=on,device-iotlb=on
		[ "$machine" = x86-scalable ] && vtd+=,x-scalable-mode=on
		# Caching mode: a map invalidates too (the IOTLB may cache
		# non-present entries), as under a hypervisor's vIOMMU.
		[ "$machine" = x86-legacy-cm ] && vtd+=,caching-mode=on
		# Native PCIe hotplug (pciehp) rather than QEMU's ACPI one
		QEMU_CMD=(qemu-system-x86_64 -M q35,kernel-irqchip=split -cpu max
			-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off
			-device "$vtd")
		append="console=ttyS0 intel_iommu=on $append"
		;;
	arm64)
		QEMU_CMD=(qemu-system-aarch64 -M virt,iommu=smmuv3,gic-version=3 -cpu max)
		append="console=ttyAMA0 $append"
		;;
	*) die "unknown machine '$machine'" ;;
	esac
	# Single-threaded TCG: ftrace patches kernel text, which races with
	# multi-threaded TCG (seen as a spurious int3 Oops).
	local cpus=2
	if [ -n "${QEMU_ICOUNT:-}" ]; then
		# One CPU: with -icount and -smp 2, QEMU 7.2 stalls (seen: the
		# DMA benchmark's fourth run never ends); and the clock then
		# counts only the instructions of the CPU that runs the code.
		QEMU_CMD+=(-icount "$QEMU_ICOUNT")
		cpus=1
	fi
	QEMU_CMD+=(-accel tcg,thread=single -smp "$cpus" -m 2G -nographic -no-reboot
		-kernel "$kernel" -initrd "$initrd"
		-append "panic=-1 init=/init $append"
		# The monitor, for the guest's requests (scripts/host-agent.py)
		-qmp "unix:$qmp,server=on,wait=off"
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1
		-netdev user,id=net0,restrict=on
		# No control queue: a driver waits for its answers forever, and a
		# blocked device gives none (suite quarantine blocks this one).
		-device "virtio-net-pci,bus=rp1,netdev=net0,romfile=,$ats,$net_no_ctrl_vq"
		-device pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2
		-drive "$disk,id=dma"
		-device "virtio-blk-pci,id=blk-dma,bus=rp2,drive=dma,serial=ktest-dma,$ats"
		# Two functions of one device, without ACS: one IOMMU group.
		-device pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3
		-drive "$disk,id=fn0" -drive "$disk,id=fn1"
		-device "virtio-blk-pci,id=blk-fn0,bus=rp3,addr=0.0,multifunction=on,drive=fn0,serial=ktest-fn0,$ats"
		-device "virtio-blk-pci,id=blk-fn1,bus=rp3,addr=0.1,drive=fn1,serial=ktest-fn1,$ats"
		# The results channel: a virtio console, outside the IOMMU.
		-device virtio-serial-pci,id=results
		-chardev "file,id=results,path=$results"
		-device virtconsole,chardev=results,bus=results.0)
	# More ATS disks (serial ktest-xN), each behind its own root port, eight
	# ports a slot from slot 16 on. Their images are -blockdev nodes, which
	# outlive a device_del, so that the device can be added again.
	QEMU_HOTPLUG=
	for ((i = 0; i < extra_disks; i++)); do
		dev="virtio-blk-pci,id=blk-x$i,bus=rpx$i,drive=x$i,serial=ktest-x$i,$ats"
		port="pcie-root-port,id=rpx$i,bus=pcie.0,chassis=$((10 + i)),slot=$((10 + i))"
		port+=",addr=$(printf '%x.%d' $((16 + i / 8)) $((i % 8)))"
		[ $((i % 8)) -ne 0 ] || port+=",multifunction=on"
		QEMU_CMD+=(-device "$port"
			-blockdev "driver=file,filename=$DISK,node-name=x$i-file,read-only=on"
			-blockdev "driver=raw,file=x$i-file,node-name=x$i,read-only=on"
			-device "$dev")
		QEMU_HOTPLUG+="blk-x$i $dev"$'\n'
	done
}

# run_guest NAME MACHINE FLAVOUR SUITES TIMEOUT [KERNEL ARGS [EXTRA_DISKS]]:
# boot kernel-FLAVOUR on MACHINE (with EXTRA_DISKS more ATS disks), run
# SUITES; console and results land in build/guests/NAME/.
run_guest() {
	local name=$1 machine=$2 flavour=$3 suites=$4 limit=$5 extra=${6:-} extra_disks=${7:-0}
	local dir kernel initrd rc=0 t0 agent qmp
	dir=$GUESTS/$name
	rm -rf "$dir" && mkdir -p "$dir"
	kernel=$(kernel_image "$flavour")
	[ -f "$kernel" ] || die "no kernel image $kernel"
	make_disk
	initrd=$(build_initramfs "$(machine_arch "$machine")")
	# Under /tmp: a socket path must stay short (108 bytes).
	qmp=$(mktemp -u /tmp/ktest-qmp.XXXXXX)
	qemu_cmdline "$machine" "$kernel" "$initrd" "$dir/results.ktap" \
		"ktest.suites=$suites ktest.disk_md5=$(disk_md5) $extra" "$qmp" "$extra_disks"
	printf '%q ' "${QEMU_CMD[@]}" >"$dir/qemu-cmdline"
	printf '%s' "$QEMU_HOTPLUG" >"$dir/hotplug"
	step "guest $name: kernel-$flavour on $machine, suites $suites (limit ${limit}s)"
	t0=$(date +%s)
	"$TOP/scripts/host-agent.py" "$dir/results.ktap" "$qmp" "$dir/hotplug" "$dir/host-agent.log" &
	agent=$!
	timeout -k 10 "$limit" "${QEMU_CMD[@]}" </dev/null >"$dir/console.log" 2>&1 || rc=$?
	kill "$agent" 2>/dev/null || true
	wait "$agent" 2>/dev/null || true
	rm -f "$qmp"
	echo "$rc" >"$dir/exit-status"
	[ "$rc" -eq 124 ] && echo "ktest-host: guest killed after ${limit}s" >>"$dir/console.log"
	step "guest $name: done in $(($(date +%s) - t0)) s (qemu exit $rc)"
}
