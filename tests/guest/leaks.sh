# shellcheck shell=dash
# Suite leaks: run last on the debug kernel, after the other suites.
run_test kmemleak_clean test_kmemleak_clean
run_test lockdep_still_active test_lockdep_active
