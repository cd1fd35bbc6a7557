#!/usr/bin/env python3
"""Collect every result of a check run and print the summary.

Sources, all under build/:
  results/host.ktap          series gates and builds (scripts/check.sh)
  guests/NAME/results.ktap   what each guest's suites reported
  guests/NAME/console.log    each guest's console: complete and clean
                             (one result per guest), and the KUnit
                             results printed at boot (arm64)
Prints the failures with their diagnostics, then the line
"N passed, N failed, N skipped". Exits 1 if anything failed or nothing ran.
"""
import os
import re
import sys

BUILD = sys.argv[1] if len(sys.argv) > 1 else 'build'
RESULT = re.compile(r'^(not )?ok \d+ (\S+)(?: (.*?))?(?:\s+#\s*(SKIP|TODO)\b\s*(.*))?$')
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
SPLAT = re.compile('|'.join(SPLATS))
# KASAN announces itself at boot; that line is not a report.
NOT_SPLAT = re.compile(r'KernelAddressSanitizer initialized|kasan: ')
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
        diag = []
        for line in open(path, errors='replace'):
            line = line.rstrip('\n')
            m = RESULT.match(line)
            if not m:
                if line.startswith('#'):
                    diag.append(line)
                    diag = diag[-40:]
                continue
            name = prefix + m.group(2)
            if m.group(1):
                self.add('fail', name, diag + ([f'# {m.group(5) or m.group(3)}'] if m.group(3) or m.group(5) else []))
            elif m.group(4) == 'SKIP':
                self.add('skip', name)
                print(f'  skipped: {name}: {m.group(5)}')
            else:
                self.add('pass', name)
            diag = []


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
    # cases (indented one level); a suite that fails without cases counts too.
    cases = 0
    for raw in text:
        m = re.match(r'^(\s*)(not )?ok \d+ (\S+)', raw)
        if not m:
            continue
        depth = len(m.group(1).expandtabs(8))
        if depth == 4:
            cases += 1
            res.add('fail' if m.group(2) else ('skip' if '# SKIP' in raw else 'pass'),
                    f'{name}.kunit.{m.group(3)}')
        elif depth == 0 and m.group(2):
            res.add('fail', f'{name}.kunit.{m.group(3)}', ['# KUnit suite failed'])
    return cases


def main():
    res = Results()
    host = os.path.join(BUILD, 'results', 'host.ktap')
    if os.path.exists(host):
        res.read_ktap(host, '')
    guests = os.path.join(BUILD, 'guests')
    for name in sorted(os.listdir(guests)) if os.path.isdir(guests) else []:
        d = os.path.join(guests, name)
        console = os.path.join(d, 'console.log')
        if not os.path.exists(console):
            continue
        ktap = os.path.join(d, 'results.ktap')
        before = res.passed + res.failed
        if os.path.exists(ktap):
            res.read_ktap(ktap, f'{name}.')
        if res.passed + res.failed == before:
            res.add('fail', f'{name}.results', [f'# guest {name} reported no results'])
        kunit = console_checks(res, name, console)
        want = open(os.path.join(d, 'expect-kunit')).read().strip() if os.path.exists(os.path.join(d, 'expect-kunit')) else ''
        if want and kunit == 0:
            res.add('fail', f'{name}.kunit', ['# no KUnit results on the console, but the kernel has KUnit suites'])
    for name, diag in res.failures:
        print(f'FAILED: {name}')
        for l in diag:
            print(f'    {l}')
    total = res.passed + res.failed
    skipped = f', {res.skipped} skipped' if res.skipped else ''
    print(f'{res.passed} passed, {res.failed} failed{skipped}')
    sys.exit(1 if res.failed or total == 0 else 0)


if __name__ == '__main__':
    main()
