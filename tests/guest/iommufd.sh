# shellcheck shell=sh
# Suite iommufd: the kselftests of tools/testing/selftests/iommu, built
# static into the initramfs. Each kselftest case becomes one result; a
# harness that stops before its plan is complete is a failure of its own.

# run_kselftest BINARY: re-emit its TAP results under BINARY's name, with
# the log of each failing case as diagnostics.
run_kselftest() {
	name=$(basename "$1")
	if [ ! -x "$1" ]; then
		ktap fail "$name.present" "$1 is not in the initramfs"
		return
	fi
	(cd /tmp && "$1") >/tmp/ksft.log 2>&1
	rc=$?
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
		}' /tmp/ksft.log >>"$RESULTS"
	diag "$name exited with $rc"
}

# The hugepage tests of iommufd need reserved huge pages.
echo 128 >/proc/sys/vm/nr_hugepages
diag "nr_hugepages=$(cat /proc/sys/vm/nr_hugepages)"
run_kselftest /bin/iommufd
run_kselftest /bin/iommufd_fail_nth
echo 0 >/proc/sys/vm/nr_hugepages
