"""Tests of the smaller pieces of make check's gates: the warning comparison
of scripts/check-analysis.sh, scripts/config-check.py (the per-patch config
check) and scripts/readme-figures.py (make figures). Run by make check
(tooling.tests) with Debian's python3 -m pytest."""
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bash(script, *args):
    p = subprocess.run(['bash', '-c', f'. {TOP}/scripts/check-analysis.sh; {script}', 'bash', *args],
                       capture_output=True, text=True)
    return p.returncode, p.stdout


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def write(self, rel, text):
        path = os.path.join(self.tmp.name, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path


class WarningComparison(Tmp):
    def new(self, base, series):
        """new_warnings on compiler output BASE and SERIES."""
        b = self.write('base.log', base)
        s = self.write('series.log', series)
        _, out = bash('normalise_warnings <"$1" | count_warnings >"$1.n"; '
                      'normalise_warnings <"$2" | count_warnings >"$2.n"; new_warnings "$1.n" "$2.n"', b, s)
        return out

    W = 'drivers/iommu/intel/dmar.c:{}:5: warning: variable \'ret\' set but not used [-Wunused-but-set-variable]\n'

    def test_second_copy_of_a_base_warning_is_new(self):
        out = self.new(self.W.format(10), self.W.format(12) + self.W.format(90))
        self.assertIn("dmar.c: warning: variable 'ret' set but not used (base 1, series 2)", out)

    def test_moved_warning_is_not_new(self):
        self.assertEqual(self.new(self.W.format(10), self.W.format(40)), '')

    def test_everything_is_new_against_an_empty_base(self):
        self.assertIn('(base 0, series 1)', self.new('', self.W.format(10)))

    def test_header_warnings_count_once(self):
        h = 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h:{}:20: warning: unreplaced symbol \'<noident>\'\n'
        self.assertEqual(self.new(h.format(799), h.format(816) * 3), '')
        self.assertIn("arm-smmu-v3.h: warning: new one (base 0, series 1)",
                      self.new(h.format(799), h.format(816).replace("unreplaced symbol '<noident>'", 'new one')))

    def test_fewer_is_not_new(self):
        self.assertEqual(self.new(self.W.format(10) + self.W.format(11), self.W.format(10)), '')


class ConfigCheck(Tmp):
    def run_check(self, config, fragment, tree=None):
        args = [sys.executable, f'{TOP}/scripts/config-check.py']
        if tree:
            args += ['--defined-in', tree]
        p = subprocess.run(args + [self.write('.config', config), self.write('frag.config', fragment)],
                           capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr

    def tree(self, *symbols):
        self.write('linux/Kconfig', ''.join(f'config {s}\n\tbool\n' for s in ('PCI',) + symbols))
        return os.path.join(self.tmp.name, 'linux')

    def test_symbol_lost(self):
        rc, out = self.run_check('CONFIG_PCI=y\n', 'CONFIG_PCI=y\nCONFIG_FAIL_PCI_RESET=y\n')
        self.assertEqual((rc, out), (1, 'CONFIG_FAIL_PCI_RESET: asked for y, got n\n'))

    def test_symbol_a_later_patch_adds_is_not_checked(self):
        rc, out = self.run_check('CONFIG_PCI=y\n', 'CONFIG_FAIL_PCI_RESET=y\n', self.tree())
        self.assertEqual((rc, out), (0, ''))

    def test_symbol_this_patch_adds_is_checked(self):
        rc, out = self.run_check('CONFIG_PCI=y\n', 'CONFIG_FAIL_PCI_RESET=y\n', self.tree('FAIL_PCI_RESET'))
        self.assertEqual(rc, 1, out)

    def test_not_a_kernel_tree(self):
        rc, out = self.run_check('CONFIG_PCI=y\n', 'CONFIG_PCI=y\n', os.path.join(self.tmp.name, 'nothing'))
        self.assertNotEqual(rc, 0)
        self.assertIn('not a kernel tree', out)


class ReadmeFigures(Tmp):
    README = ('# x\n<!-- make figures: check -->\nold check\n<!-- end of make figures: check -->\n'
              '<!-- make figures: stress -->\nold stress\n<!-- end of make figures: stress -->\n'
              '<!-- make figures: bench -->\nold bench\n<!-- end of make figures: bench -->\n')

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.tmp.name, 'scripts'))
        shutil.copy(f'{TOP}/scripts/readme-figures.py', os.path.join(self.tmp.name, 'scripts'))
        self.write('README.md', self.README)

    def figures(self):
        p = subprocess.run([sys.executable, os.path.join(self.tmp.name, 'scripts', 'readme-figures.py')],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        return open(os.path.join(self.tmp.name, 'README.md')).read(), p.stdout

    def test_passing_run_goes_in(self):
        self.write('build/results/figures.md', '**900 passed, 0 failed, 40 skipped** in 45 min 0 s.\n')
        readme, _ = self.figures()
        self.assertIn('check -->\n**900 passed, 0 failed, 40 skipped** in 45 min 0 s.\n<!-- end', readme)
        self.assertIn('old stress', readme)

    def test_failed_run_is_kept_out(self):
        self.write('build/results/figures.md', '**900 passed, 2 failed, 40 skipped**.\n')
        readme, out = self.figures()
        self.assertIn('old check', readme)
        self.assertIn('the run failed', out)

    def test_unfinished_run_is_kept_out(self):
        self.write('build/results/figures.md', '`make check` on 2026-12-08:\n')
        readme, out = self.figures()
        self.assertIn('old check', readme)

    def test_subset_is_kept_out(self):
        self.write('build/results/figures.md', '**57 passed, 0 failed, 0 skipped (subset: gates)**.\n')
        readme, _ = self.figures()
        self.assertIn('old check', readme)

    def test_stress_names_its_parts(self):
        self.write('build/stress/figures.md', '`make stress`, some parts:\n\n- stress: 2026-12-08\n\n'
                   '**30 passed, 0 failed, 0 skipped**.\n')
        readme, _ = self.figures()
        self.assertIn('some parts:\n\n- stress: 2026-12-08', readme)

    def test_incomplete_bench_is_kept_out(self):
        self.write('build/bench/table.md', 'MISSING: x86-legacy dma_map_us\ntargets: floor <= 1% on 7 of 8 rows\n')
        readme, _ = self.figures()
        self.assertIn('old bench', readme)


if __name__ == '__main__':
    unittest.main()
