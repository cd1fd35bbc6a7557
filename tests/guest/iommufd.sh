# shellcheck shell=dash
# Suite iommufd: the kselftests of tools/testing/selftests/iommu, built
# static into the initramfs with a per-case timeout fit for TCG
# (tests/kselftest/timeout.c). Each kselftest case becomes one result; a
# harness that stops before its plan is complete, or exits non-zero, is a
# failure of its own.

# run_kselftest BINARY [HARNESS ARGS]: re-emit its TAP results under
# BINARY's name, with the log of each failing case as diagnostics.
run_kselftest() {
	name=$(basename "$1")
	if [ ! -x "$1" ]; then
		ktap fail "$name.present" "$1 is not in the initramfs"
		return
	fi
	# Each case's name also goes to the kernel log, so that a case that
	# hangs the guest can be named from the console.
	rm -f /tmp/ksft.rc
	(cd /tmp && "$@" 2>&1; echo "exit $?" >/tmp/ksft.rc) | tee /tmp/ksft.log |
		while read -r line; do
			case "$line" in "#  RUN"*) echo "ktest: $name: ${line#\#  RUN }" >/dev/kmsg ;; esac
		done
	rc=$(cat /tmp/ksft.rc 2>/dev/null || echo "killed")
	n=$(cat /tmp/ktap_n)
	awk -v pfx="$name." -v n="$n" '
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
	# The harness's own verdict counts too: one that crashes or exits
	# non-zero after a complete plan is not a pass.
	if [ "$rc" = "exit 0" ]; then
		ktap ok "$name.harness_exit"
	else
		ktap fail "$name.harness_exit" "harness $rc"
	fi
}

# The hugepage tests of iommufd need reserved huge pages.
echo 128 >/proc/sys/vm/nr_hugepages
diag "nr_hugepages=$(cat /proc/sys/vm/nr_hugepages)"
case "$(cmdline_arg ktest.iommufd)" in
series)
	# On the debug kernel (KASAN makes the whole set take 20 minutes under
	# TCG): the cases of the series, and the fail_nth case that adds and
	# removes mock devices (where the series fixes a dev_iommu leak). The fast
	# kernel runs everything.
	run_kselftest /bin/iommufd -f iommufd_reset
	run_kselftest /bin/iommufd_fail_nth -t device
	;;
*)
	run_kselftest /bin/iommufd
	run_kselftest /bin/iommufd_fail_nth
	;;
esac
echo 0 >/proc/sys/vm/nr_hugepages
