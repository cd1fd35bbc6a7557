# shellcheck shell=dash
# Suite iommufd: the kselftests of tools/testing/selftests/iommu, built
# static into the initramfs. Each kselftest case becomes one result; a
# harness that stops before its plan is complete is a failure of its own.

# ktest.ksft_skip=BINARY:TEST,...: leave TEST of BINARY out (-T), reported
# as skipped, for a test that cannot finish on this kernel (the debug kernel
# under TCG outruns the harness's 30 s timeout).
KSFT_SKIP=$(cmdline_arg ktest.ksft_skip | tr , ' ')

# run_kselftest BINARY: re-emit its TAP results under BINARY's name, with
# the log of each failing case as diagnostics.
run_kselftest() {
	name=$(basename "$1")
	if [ ! -x "$1" ]; then
		ktap fail "$name.present" "$1 is not in the initramfs"
		return
	fi
	args=""
	for s in $KSFT_SKIP; do
		[ "${s%%:*}" = "$name" ] || continue
		args="$args -T ${s#*:}"
		ktap skip "$name.${s#*:}" "left out: cannot finish within the kselftest timeout on this kernel"
	done
	# Each case's name also goes to the kernel log, so that a case that
	# hangs the guest can be named from the console.
	# shellcheck disable=SC2086 # one argument per word
	(cd /tmp && "$1" $args 2>&1; echo "exit $?" >/tmp/ksft.rc) | tee /tmp/ksft.log |
		while read -r line; do
			case "$line" in "#  RUN"*) echo "ktest: $name: ${line#\#  RUN }" >/dev/kmsg ;; esac
		done
	rc=$(cat /tmp/ksft.rc)
	n=$(cat /tmp/ktap_n)
	awk -v pfx="$name." -v n="$n" '
		/^#  RUN/ { buf = "" }
		/^# / { buf = buf $0 "\n"; next }
		/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
		/^(not )?ok [0-9]+ / {
			ok = ($1 == "ok")
			line = $0
			sub(/^(not )?ok [0-9]+ /, "", line)
			n++; seen++
			if (ok) print "ok " n " " pfx line
			else printf "%snot ok %d %s%s\n", buf, n, pfx, line
			buf = ""
		}
		END {
			n++
			if (plan > 0 && seen == plan) print "ok " n " " pfx "complete"
			else print "not ok " n " " pfx "complete # " seen " results for a plan of " plan
			print n > "/tmp/ktap_n"
		}' /tmp/ksft.log >>"$RESULTS" || ktap fail "$name.parse" "awk failed on its output"
	diag "$name: $rc"
}

# The hugepage tests of iommufd need reserved huge pages.
echo 128 >/proc/sys/vm/nr_hugepages
diag "nr_hugepages=$(cat /proc/sys/vm/nr_hugepages)"
run_kselftest /bin/iommufd
run_kselftest /bin/iommufd_fail_nth
echo 0 >/proc/sys/vm/nr_hugepages
