#!/usr/bin/env python3
"""Collect every result of a check run and print the summary.

Sources, all under build/:
  results/host.ktap          series gates and builds (scripts/check.sh)
  guests/NAME/results.ktap   what each guest's suites reported
  guests/NAME/console.log    each guest's console: complete and clean
                             (one result per guest), and the KUnit
                             results printed at boot (arm64)
The KUnit suites each guest must run at boot come from tests/guests.tsv.
With --guest NAME, only that guest's results count (make guest); with
--subset WHAT, the verdict line says that only WHAT ran (make check STAGES=).
Prints the failures with their diagnostics, the time of each stage of
make check (results/stage-times.tsv), then the line
"N passed, N failed, N skipped". Exits 1 if anything failed or nothing ran.
"""
import argparse
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST_TABLE = os.path.join(TOP, 'tests', 'guests.tsv')
# "ok 3 name", "ok 3 name # SKIP why", "not ok 3 name # exit 1": status,
# name, directive (SKIP/TODO/XFAIL) and its text, or a plain comment.
RESULT = re.compile(r'^(not )?ok \d+ ([^\s#]+)[^#]*?(?:#\s*(SKIP|TODO|XFAIL)\b\s*(.*)|#\s*(.*))?$')
LOOKS_LIKE_RESULT = re.compile(r'^(not )?ok\b')
PLAN = re.compile(r'^1\.\.(\d+)$')
TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s?')

# Console lines that mean the kernel found a bug in itself.
SPLATS = [
    r'WARNING: ', r'-+\[ cut here \]-+', r'\bBUG: ', r'kernel BUG at', r'\bOops\b',
    r'Invalid wait context', r'possible circular locking dependency',
    r'possible recursive locking', r'inconsistent lock state',
    r'suspicious RCU usage', r'INFO: lockdep is turned off', r'DEBUG_LOCKS_WARN_ON',
    r'KASAN', r'kmemleak: \d+ new suspected memory leaks', r'soft lockup',
    r'hard LOCKUP', r'rcu: INFO: .*detected stall', r'self-detected stall',
    r'INFO: task .* blocked for more than', r'Kernel panic', r'UBSAN:',
    r'general protection fault', r'Unable to handle kernel', r'workqueue lockup',
    r'ODEBUG:', r'list_add corruption', r'list_del corruption',
]
SPLATS += [r'^BUG [\w.-]+ \(', r'SError', r'Kernel memory leak detector disabled']
SPLAT = re.compile('|'.join(SPLATS))
# KASAN announces itself at boot; that line is not a report.
NOT_SPLAT = re.compile(r'^KernelAddressSanitizer initialized')
FINISHED = 'ktest: guest tests finished'


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []

    def add(self, status, name, diag=()):
        if status == 'pass':
            self.passed += 1
        elif status == 'skip':
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append((name, list(diag)))

    def read_ktap(self, path, prefix):
        """Count the results of a KTAP file; its plan must match them."""
        diag, seen, plan = [], 0, None
        for line in open(path, errors='replace'):
            line = line.rstrip('\n')
            m = RESULT.match(line)
            if PLAN.match(line):
                plan = int(PLAN.match(line).group(1))
                continue
            if not m:
                if LOOKS_LIKE_RESULT.match(line):
                    self.add('fail', f'{prefix}unparsed', [f'# cannot parse result line: {line}'])
                elif line.startswith('#'):
                    diag = (diag + [line])[-40:]
                continue
            seen += 1
            name = prefix + m.group(2)
            directive, text, comment = m.group(3), m.group(4), m.group(5)
            if m.group(1):
                self.add('fail', name, diag + ([f'# {comment}'] if comment else []))
            elif directive == 'SKIP':
                self.add('skip', name)
                print(f'  skipped: {name}: {text}')
            else:
                self.add('pass', name)
            diag = []
        return seen, plan


def console_checks(res, name, path):
    lines = open(path, errors='replace').read().splitlines()
    text = [TIMESTAMP.sub('', l) for l in lines]
    # Complete: the guest reached the end of its tests and powered off.
    finished = [i for i, l in enumerate(text) if FINISHED in l]
    powered_off = any('reboot: Power down' in l for l in text[finished[-1]:]) if finished else False
    if finished and powered_off:
        res.add('pass', f'{name}.console_complete')
    else:
        res.add('fail', f'{name}.console_complete',
                ['# the console log is truncated: last lines:'] + ['#   ' + l for l in lines[-15:]])
    splats = [i for i, l in enumerate(text) if SPLAT.search(l) and not NOT_SPLAT.search(l)]
    if not splats:
        res.add('pass', f'{name}.console_clean')
    else:
        first = splats[0]
        res.add('fail', f'{name}.console_clean',
                [f'# {len(splats)} splat lines in {path}; the first one:'] +
                ['#   ' + l for l in lines[max(0, first - 2):first + 25]])
    # KUnit suites built into the kernel print KTAP at boot: count the
    # cases (indented one level) of each suite and check them against the
    # suite's plan; a suite that fails without cases counts too.
    suites, suite = {}, None
    for raw in text:
        sub = re.match(r'^\s*# Subtest: (\S+)', raw)
        if sub and not raw.startswith('        '):
            suite = sub.group(1)
            suites[suite] = [0, None]
            continue
        plan = re.match(r'^    1\.\.(\d+)$', raw)
        if plan and suite:
            suites[suite][1] = int(plan.group(1))
            continue
        m = re.match(r'^(\s*)(not )?ok \d+ (\S+)', raw)
        if not m:
            continue
        depth = len(m.group(1).expandtabs(8))
        if depth == 4 and suite:
            suites[suite][0] += 1
            res.add('fail' if m.group(2) else ('skip' if '# SKIP' in raw else 'pass'),
                    f'{name}.kunit.{suite}.{m.group(3)}')
        elif depth == 0 and m.group(2):
            res.add('fail', f'{name}.kunit.{m.group(3)}', ['# KUnit suite failed'])
    return suites


def expected_kunit(table=GUEST_TABLE):
    """The KUnit suites each guest of the table must run: {name: [suite]}."""
    expect = {}
    for line in open(table):
        fields = [f.strip() for f in line.split('|')]
        if line.startswith('#') or len(fields) < 2:
            continue
        expect[fields[0]] = fields[7].split() if len(fields) > 7 else []
    return expect


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('build', nargs='?', default='build')
    parser.add_argument('--guest', help='count only the results of this guest')
    parser.add_argument('--subset', help='what ran, when not everything did')
    args = parser.parse_args()
    res = Results()
    host = os.path.join(args.build, 'results', 'host.ktap')
    if os.path.exists(host) and not args.guest:
        res.read_ktap(host, '')
    guests = os.path.join(args.build, 'guests')
    kunit = expected_kunit()
    names = sorted(os.listdir(guests)) if os.path.isdir(guests) else []
    for name in [args.guest] if args.guest else names:
        d = os.path.join(guests, name)
        console = os.path.join(d, 'console.log')
        if not os.path.exists(console):
            continue
        ktap = os.path.join(d, 'results.ktap')
        seen, plan = res.read_ktap(ktap, f'{name}.') if os.path.exists(ktap) else (0, None)
        if seen == 0:
            res.add('fail', f'{name}.results', [f'# guest {name} reported no results'])
        elif plan != seen:
            res.add('fail', f'{name}.results_complete',
                    [f'# {seen} results for a plan of {plan}: the results channel lost lines'])
        suites = console_checks(res, name, console)
        for suite in kunit.get(name, []):
            cases, plan = suites.get(suite, [0, None])
            if not cases or cases != plan:
                res.add('fail', f'{name}.kunit.{suite}',
                        [f'# KUnit suite {suite}: {cases} cases on the console for a plan of {plan}'])
    for name, diag in res.failures:
        print(f'FAILED: {name}')
        for l in diag:
            print(f'    {l}')
    times = os.path.join(args.build, 'results', 'stage-times.tsv')
    if os.path.exists(times) and not args.guest:
        print('time per stage:')
        for line in open(times):
            stage, seconds = line.rstrip('\n').split('\t')
            print(f'  {int(seconds) // 60:3d} min {int(seconds) % 60:2d} s  {stage}')
    total = res.passed + res.failed
    subset = f' (subset: {args.subset})' if args.subset else ''
    print(f'{res.passed} passed, {res.failed} failed, {res.skipped} skipped{subset}')
    # Nothing may print after this line: CI reads it as the verdict.
    return 1 if res.failed or total == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
