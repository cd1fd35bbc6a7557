# shellcheck shell=dash
# Suite debug: the debug kernel really has its checkers on, so a clean
# console means something. Runs first; suite "leaks" runs last.

test_lockdep_active() {
	grep -E 'debug_locks:|lock-classes:' /proc/lockdep_stats
	grep -qE 'debug_locks: *1$' /proc/lockdep_stats
}

test_kasan_active() {
	dmesg | grep -m1 'KernelAddressSanitizer initialized'
}

# Start from a clean list: what boot left behind is not the tests' doing.
test_kmemleak_active() {
	[ -w /sys/kernel/debug/kmemleak ] || { echo "no /sys/kernel/debug/kmemleak"; return 1; }
	echo scan >/sys/kernel/debug/kmemleak && echo clear >/sys/kernel/debug/kmemleak
}

# kmemleak reports an object only once it is older than 5 s and was not
# referenced in two scans.
test_kmemleak_clean() {
	sleep 6
	# A write fails once kmemleak has switched itself off.
	echo scan >/sys/kernel/debug/kmemleak || { echo "kmemleak scan failed: kmemleak is off"; return 1; }
	echo scan >/sys/kernel/debug/kmemleak || return 1
	leaks=$(cat /sys/kernel/debug/kmemleak)
	[ -z "$leaks" ] && return 0
	echo "$leaks" | head -n 60
	return 1
}

run_test lockdep_active test_lockdep_active
run_test kasan_active test_kasan_active
run_test kmemleak_active test_kmemleak_active
