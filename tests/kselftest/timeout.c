// SPDX-License-Identifier: GPL-2.0-only
/*
 * Builds the kselftest KSELFTEST_SOURCE unchanged, but with the harness's
 * per-case timeout raised to KSELFTEST_TIMEOUT seconds.
 *
 * The harness's fixed 30 s suits real hardware. Under TCG the debug kernel
 * (KASAN, lockdep, kmemleak) runs a fail_nth case 20 to 50 times slower than
 * that, so a busy host turned a passing case into a timeout. The guest's own
 * time limit still bounds the whole run, and a hung case still fails.
 */
#include "kselftest_harness.h"
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT KSELFTEST_TIMEOUT
#include KSELFTEST_SOURCE
