"""Tests of scripts/results.py, the verdict of make check and make guest.

Each test builds a small build/ directory (host results, guests' KTAP and
consoles) and runs results.py on it, as make check does. Run by make check
(tooling.results_py_tests) with Debian's python3 -m pytest.
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.environ.get('RESULTS_PY', os.path.join(TOP, 'scripts', 'results.py'))

CLEAN_CONSOLE = textwrap.dedent('''\
    [    0.000000] Linux version 7.3.4
    [   10.000000] ktest: guest tests finished
    [   10.100000] reboot: Power down
    ''')


class Build:
    """A throwaway build/ directory."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = self.tmp.name
        self.table = os.path.join(self.path, 'guests.tsv')
        self.skips = os.path.join(self.path, 'expected-skips.tsv')
        self.write('guests.tsv', '# name | machine | flavour | suites | limit | disks | args | kunit\n')
        self.write('expected-skips.tsv', '# guest | test | why\n')

    def write(self, rel, text):
        path = os.path.join(self.path, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))

    def append(self, rel, line):
        with open(os.path.join(self.path, rel), 'a') as f:
            f.write(line + '\n')

    def table_row(self, name, kunit=''):
        """A guest of the test's tests/guests.tsv."""
        self.append('guests.tsv', f'{name} | x86-legacy | x86 | pci-reset | 600 | 0 | | {kunit}')

    def guest(self, name, ktap, console=CLEAN_CONSOLE, kunit=''):
        """A guest of the table, and what it reported."""
        self.table_row(name, kunit)
        self.write(f'guests/{name}/results.ktap', ktap)
        self.write(f'guests/{name}/console.log', console)

    def expect_skip(self, guest, test, why='QEMU cannot'):
        self.append('expected-skips.tsv', f'{guest} | {test} | {why}')

    def run(self, *args):
        p = subprocess.run([sys.executable, RESULTS, self.path, '--guest-table', self.table,
                            '--expected-skips', self.skips, *args],
                           capture_output=True, text=True)
        return p.returncode, p.stdout


class ResultsTest(unittest.TestCase):
    def setUp(self):
        self.build = Build()
        self.addCleanup(self.build.tmp.cleanup)

    def verdict(self, *args):
        rc, out = self.build.run(*args)
        return rc, out, out.rstrip('\n').splitlines()[-1]

    def assert_fails(self, check):
        """The verdict is a failure, and lists CHECK as failed."""
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 1, out)
        self.assertIn(f'FAILED: {check}', out)

    def test_all_passed(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\nok 2 checkpatch.0001\n')
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\nok 2 flr # SKIP no FLR\n1..2\n')
        self.build.expect_skip('x86-legacy', 'flr')
        rc, out, last = self.verdict()
        self.assertEqual(rc, 0, out)
        # host 2, guest 1 and its console checks (complete, clean)
        self.assertEqual(last, '5 passed, 0 failed, 1 skipped')

    def test_failure_is_listed_with_its_diagnostics(self):
        self.build.guest('x86-legacy', 'KTAP version 1\n# read 0 bytes\nnot ok 1 dma # exit 1\n1..1\n')
        rc, out, last = self.verdict()
        self.assertEqual(rc, 1)
        self.assertIn('FAILED: x86-legacy.dma', out)
        self.assertIn('# read 0 bytes', out)
        self.assertTrue(last.startswith('2 passed, 1 failed'), last)

    def test_results_lost_on_the_channel(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..2\n')
        self.assert_fails('x86-legacy.results_complete')

    def test_guest_without_results(self):
        self.build.guest('x86-legacy', '')
        self.assert_fails('x86-legacy.results')

    def test_truncated_console(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n',
                         console='[    1.0] Linux version 7.3.4\n')
        self.assert_fails('x86-legacy.console_complete')

    def test_splat_in_console(self):
        console = CLEAN_CONSOLE.replace(
            '[   10.000000] ktest',
            '[    5.0] WARNING: CPU: 0 PID: 1 at drivers/iommu/iommu.c:1 x\n[   10.000000] ktest')
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n', console=console)
        self.assert_fails('x86-legacy.console_clean')

    def test_kasan_banner_is_not_a_splat(self):
        console = CLEAN_CONSOLE.replace(
            '[   10.000000] ktest', '[    0.1] KernelAddressSanitizer initialized\n[   10.000000] ktest')
        self.build.guest('x86-debug', 'KTAP version 1\nok 1 dma\n1..1\n', console=console)
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 0, out)

    def kunit_console(self, cases, plan):
        lines = ['[    1.0]     KTAP version 1', '[    1.0]     # Subtest: arm-smmu-v3-kunit-test',
                 f'[    1.0]     1..{plan}']
        lines += [f'[    1.1]     ok {i + 1} case_{i}' for i in range(cases)]
        lines += ['[    1.2] ok 1 arm-smmu-v3-kunit-test']
        return '\n'.join(lines) + '\n' + CLEAN_CONSOLE

    KUNIT = 'arm-smmu-v3-kunit-test'

    def test_expected_kunit_suite_counted(self):
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', console=self.kunit_console(3, 3),
                         kunit=self.KUNIT)
        rc, out, last = self.verdict()
        self.assertEqual(rc, 0, out)
        self.assertEqual(last, '6 passed, 0 failed, 0 skipped')

    def test_expected_kunit_suite_missing(self):
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', kunit=self.KUNIT)
        self.assert_fails('arm64.kunit.arm-smmu-v3-kunit-test')

    def test_kunit_suite_short_of_its_plan(self):
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', console=self.kunit_console(2, 3),
                         kunit=self.KUNIT)
        self.assert_fails('arm64.kunit.arm-smmu-v3-kunit-test')

    def test_one_guest(self):
        self.build.write('results/host.ktap', 'not ok 1 series.applies\n')
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n')
        self.build.guest('x86-scalable', 'KTAP version 1\nnot ok 1 dma\n1..1\n')
        rc, out, last = self.verdict('--guest', 'x86-legacy')
        self.assertEqual(rc, 0, out)
        self.assertEqual(last, '3 passed, 0 failed, 0 skipped')

    def test_subset_named_in_the_verdict(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\n')
        rc, _, last = self.verdict('--subset', 'gates')
        self.assertEqual(rc, 0)
        self.assertEqual(last, '1 passed, 0 failed, 0 skipped (subset: gates)')

    def test_stage_times_before_the_verdict(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\n')
        self.build.write('results/stage-times.tsv', 'series gates\t44\nper-patch builds\t1805\n')
        rc, out, last = self.verdict()
        self.assertIn('30 min 5 s  per-patch builds', out)
        self.assertEqual(last, '1 passed, 0 failed, 0 skipped')

    def test_nothing_ran_fails(self):
        rc, _, last = self.verdict()
        self.assertEqual(rc, 1)
        self.assertEqual(last, '0 passed, 0 failed, 0 skipped')

    def test_unparsable_result_line(self):
        self.build.write('results/host.ktap', 'ok 1 a\nok b c\n')
        self.assert_fails('unparsed')

    # --- Skips: only the listed ones (tests/expected-skips.tsv) ---

    def test_unexpected_skip_fails_with_the_line_to_add(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 stress # SKIP no fail_iommu_atc_inv\n1..1\n')
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: x86-legacy.stress', out)
        self.assertIn('no fail_iommu_atc_inv', out)
        self.assertIn('expected-skips.tsv', out)
        self.assertIn('"x86-legacy | stress | why"', out)

    def test_expected_skip_that_ran_fails(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\nok 2 flr\n1..2\n')
        self.build.expect_skip('x86-legacy', 'flr')
        self.assert_fails('x86-legacy.expected_skip.flr')

    def test_expected_skip_not_reported_fails(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n')
        self.build.expect_skip('x86-legacy', 'flr')
        self.assert_fails('x86-legacy.expected_skip.flr')

    def test_expected_skip_of_a_suite_that_did_not_run(self):
        # make guest SUITES=...: the listed test's suite was left out.
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n')
        self.build.expect_skip('x86-legacy', 'flr')
        rc, out, _ = self.verdict('--guest', 'x86-legacy', '--some-suites')
        self.assertEqual(rc, 0, out)

    def test_expected_skip_is_per_guest(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 flr # SKIP no FLR\n1..1\n')
        self.build.guest('arm64', 'KTAP version 1\nok 1 flr # SKIP no FLR\n1..1\n')
        self.build.expect_skip('arm64', 'flr')
        rc, out, last = self.verdict()
        self.assertIn('FAILED: x86-legacy.flr', out)
        self.assertNotIn('FAILED: arm64', out)
        self.assertTrue(last.startswith('4 passed, 1 failed, 1 skipped'), last)

    def test_unexpected_kunit_skip_fails(self):
        console = self.kunit_console(2, 3).replace(
            '[    1.2] ok 1', '[    1.1]     ok 3 case_2 # SKIP no ATS\n[    1.2] ok 1')
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', console=console, kunit=self.KUNIT)
        self.assert_fails('arm64.kunit.arm-smmu-v3-kunit-test.case_2')
        self.build.expect_skip('arm64', 'kunit.arm-smmu-v3-kunit-test.case_2')
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 0, out)

    def test_kunit_case_marked_xfail_fails(self):
        console = self.kunit_console(2, 3).replace(
            '[    1.2] ok 1', '[    1.1]     ok 3 case_2 # XFAIL known\n[    1.2] ok 1')
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', console=console, kunit=self.KUNIT)
        self.assert_fails('arm64.kunit.arm-smmu-v3-kunit-test.case_2')

    def test_kunit_lower_case_skip_is_a_skip(self):
        console = self.kunit_console(2, 3).replace(
            '[    1.2] ok 1', '[    1.1]     ok 3 case_2 # skip no ATS\n[    1.2] ok 1')
        self.build.guest('arm64', 'KTAP version 1\nok 1 dma\n1..1\n', console=console, kunit=self.KUNIT)
        self.build.expect_skip('arm64', 'kunit.arm-smmu-v3-kunit-test.case_2')
        rc, out, last = self.verdict()
        self.assertEqual(rc, 0, out)
        self.assertTrue(last.endswith('1 skipped'), last)

    def test_bad_expected_skip_line_is_named(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n')
        self.build.append('expected-skips.tsv', 'x86-legacy | flr')
        rc, out = self.build.run()
        self.assertNotEqual(rc, 0)

    def test_todo_is_not_a_pass(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma # TODO later\n1..1\n')
        self.assert_fails('x86-legacy.dma')

    def test_figures_for_the_readme(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\n')
        self.build.write('results/stage-times.tsv', 'series gates\t60\nper-patch builds\t1805\n')
        self.build.guest('x86-debug', 'KTAP version 1\n# stress: survived 12 sysfs resets\n'
                         'ok 1 stress\nok 2 flr # SKIP no FLR\n1..2\n')
        self.build.expect_skip('x86-debug', 'flr')
        figures = os.path.join(self.build.path, 'figures.md')
        rc, out, last = self.verdict('--figures', figures)
        self.assertEqual(rc, 0, out)
        text = open(figures).read()
        self.assertIn(f'**{last}** in 31 min 5 s.', text)
        self.assertIn('Stages: series gates 1 min 0 s; per-patch builds 30 min 5 s.', text)
        self.assertIn('| host | 1 | 0 | 0 |  |', text)
        self.assertIn('| x86-debug | 3 | 0 | 1 | 12 sysfs resets |', text)

    def test_lower_case_skip_is_a_skip(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 flr # skip no FLR\n1..1\n')
        rc, out, _ = self.verdict()
        self.assertIn('FAILED: x86-legacy.flr', out)
        self.assertIn('does not expect it', out)

    def test_listed_test_that_failed_is_one_failure(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nnot ok 1 flr\n1..1\n')
        self.build.expect_skip('x86-legacy', 'flr')
        rc, out, last = self.verdict()
        self.assertIn('FAILED: x86-legacy.flr', out)
        self.assertNotIn('expected_skip', out)

    def test_result_reported_twice(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\nok 2 dma\n1..2\n')
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 1, out)
        self.assertIn('dma is reported twice', out)

    def test_named_guest_that_did_not_boot(self):
        self.build.guest('stress', 'KTAP version 1\nok 1 dma\n1..1\n')
        rc, out, _ = self.verdict('--guest', 'stress', '--guest', 'scale')
        self.assertEqual(rc, 1, out)
        self.assertIn('FAILED: scale.ran', out)

    def test_bad_stage_time_line_is_ignored(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\n')
        self.build.write('results/stage-times.tsv', 'series gates\t44\n\n')
        rc, out, _ = self.verdict()
        self.assertEqual(rc, 0, out)

    # --- Every guest of the table ran ---

    def test_guest_of_the_table_that_did_not_run(self):
        self.build.guest('x86-legacy', 'KTAP version 1\nok 1 dma\n1..1\n')
        self.build.table_row('x86-scalable')
        self.assert_fails('x86-scalable.ran')

    def test_guests_not_asked_for_need_not_run(self):
        self.build.write('results/host.ktap', 'ok 1 series.applies\n')
        self.build.table_row('x86-scalable')
        rc, out, _ = self.verdict('--subset', 'gates')
        self.assertEqual(rc, 0, out)


if __name__ == '__main__':
    unittest.main()
