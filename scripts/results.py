#!/usr/bin/env python3
"""Collect every result of a check run and print the summary.

Sources, all under build/:
  results/host.ktap          series gates and builds (scripts/check.sh)
  guests/NAME/results.ktap   what each guest's suites reported
  guests/NAME/console.log    each guest's console: complete and clean
                             (one result per guest), and the KUnit
                             results printed at boot (arm64)
The KUnit suites each guest must run at boot come from tests/guests.tsv;
a full run (no --guest, or a --subset that has guests) must have run every
guest of that table. A skip counts as a skip only if tests/expected-skips.tsv
lists it; an unexpected skip fails, and so does a listed test that ran or
was not reported at all (the list is then out of date).
With --guest NAME (repeatable), only those guests' results count (make
guest, make stress; add
--some-suites when only some of its suites ran); with --subset WHAT, the
verdict line says that only WHAT ran (make check STAGES=).
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
EXPECTED_SKIPS = os.path.join(TOP, 'tests', 'expected-skips.tsv')
# "ok 3 name", "ok 3 name # SKIP why", "not ok 3 name # exit 1": status,
# name, directive (SKIP/TODO/XFAIL) and its text, or a plain comment.
RESULT = re.compile(r'^(not )?ok \d+ ([^\s#]+)[^#]*?(?:#\s*(SKIP|TODO|XFAIL)\b\s*(.*)|#\s*(.*))?$', re.I)
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
    """Counts of one run. EXPECTED_SKIPS: {(guest, test): why}, where guest
    is 'host' for host.ktap and test is the name without the guest."""

    def __init__(self, expected_skips):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.expected_skips = expected_skips
        self.reported = {}
        # Counts per guest ('host' for host.ktap), for the figures table.
        self.part = 'host'
        self.by_part = {}

    def add(self, status, name, diag=()):
        counts = self.by_part.setdefault(self.part, {'pass': 0, 'fail': 0, 'skip': 0})
        if status == 'pass':
            self.passed += 1
        elif status == 'skip':
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append((name, list(diag)))
            status = 'fail'
        counts[status] += 1

    def result(self, guest, test, status, diag=(), skip_text=''):
        """One reported result; a skip is checked against the list."""
        name = test if guest == 'host' else f'{guest}.{test}'
        if (guest, test) in self.reported:
            # Two results under one name: one of them would hide the other.
            self.add('fail', name, [f'# {name} is reported twice'])
            return
        self.reported[(guest, test)] = status
        if status != 'skip':
            self.add(status, name, diag)
        elif (guest, test) in self.expected_skips:
            self.add('skip', name)
            print(f'  skipped: {name}: {skip_text}')
        else:
            self.add('fail', name, [
                f'# skipped ({skip_text}), and {os.path.basename(EXPECTED_SKIPS)} does not expect it;',
                f'# if this machine cannot run it, add the line "{guest} | {test} | why"'])

    def check_expected_skips(self, guest, whole):
        """Every listed skip of GUEST was reported as a skip (WHOLE: all of
        its suites ran, so a listed test not reported at all is stale)."""
        for (g, test), why in sorted(self.expected_skips.items()):
            status = self.reported.get((g, test))
            # A failure of a listed test is reported as such, not as a stale line.
            if g != guest or status in ('skip', 'fail') or (status is None and not whole):
                continue
            what = 'was not reported' if status is None else f'ran ({status})'
            self.add('fail', f'{guest}.expected_skip.{test}',
                     [f'# listed in {os.path.basename(EXPECTED_SKIPS)} ("{why}") but {what}:',
                      f'#   remove the line "{guest} | {test} | ..."'])

    def read_ktap(self, path, guest):
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
                    self.add('fail', 'unparsed' if guest == 'host' else f'{guest}.unparsed',
                             [f'# cannot parse result line: {line}'])
                elif line.startswith('#'):
                    diag = (diag + [line])[-40:]
                continue
            seen += 1
            test = m.group(2)
            directive, text, comment = (m.group(3) or '').upper(), m.group(4), m.group(5)
            if m.group(1):
                self.result(guest, test, 'fail', diag + ([f'# {comment}'] if comment else []))
            elif directive == 'SKIP':
                self.result(guest, test, 'skip', skip_text=text)
            elif directive:
                # Nothing here marks a result TODO or XFAIL: such a line
                # would be a pass that tests nothing.
                self.result(guest, test, 'fail', [f'# "# {directive}" is not a result this project uses'])
            else:
                self.result(guest, test, 'pass')
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
        m = re.match(r'^(\s*)(.*)$', raw)
        case = RESULT.match(m.group(2))
        if not case:
            continue
        depth = len(m.group(1).expandtabs(8))
        if depth == 4 and suite:
            suites[suite][0] += 1
            directive = (case.group(3) or '').upper()
            status = 'fail' if case.group(1) or directive in ('TODO', 'XFAIL') else \
                'skip' if directive == 'SKIP' else 'pass'
            res.result(name, f'kunit.{suite}.{case.group(2)}', status, skip_text=case.group(4) or '',
                       diag=[f'# "# {directive}" is not a result this project uses'] if status == 'fail' and directive else [])
        elif depth == 0 and case.group(1):
            res.add('fail', f'{name}.kunit.{case.group(2)}', ['# KUnit suite failed'])
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


def read_expected_skips(path):
    """{(guest, test): why} from PATH: "guest | test | why" lines."""
    expected = {}
    if not os.path.exists(path):
        sys.exit(f'{path}: missing; it lists the tests each guest may skip (tests/expected-skips.tsv)')
    for n, line in enumerate(open(path), 1):
        if not line.strip() or line.startswith('#'):
            continue
        fields = [f.strip() for f in line.split('|', 2)]
        if len(fields) != 3 or not all(fields):
            sys.exit(f'{path}:{n}: expected "guest | test | why", found: {line.rstrip()}')
        if (fields[0], fields[1]) in expected:
            sys.exit(f'{path}:{n}: {fields[0]} | {fields[1]} is listed twice')
        expected[(fields[0], fields[1])] = fields[2]
    return expected


def minutes(seconds):
    return f'{int(seconds) // 60} min {int(seconds) % 60} s'


def figures(res, verdict, stages, guests):
    """The run's figures in markdown: the verdict, the time of each stage,
    and each guest's counts with what its stress and scale suites survived
    (their "# stress: survived" and "# scale: N resets" lines)."""
    total = sum(int(s) for _, s in stages)
    out = [f'**{verdict}**' + (f' in {minutes(total)}.' if stages else '.'), '']
    if stages:
        out += ['Stages: ' + '; '.join(f'{stage} {minutes(seconds)}' for stage, seconds in stages) + '.', '']
    out += ['| where | passed | failed | skipped | survived |', '|---|---|---|---|---|']
    for part, counts in res.by_part.items():
        ktap = os.path.join(guests, part, 'results.ktap')
        survived = []
        if os.path.exists(ktap):
            survived = [re.sub(r'^# (stress: survived|scale:) ', '', line.strip())
                        for line in open(ktap, errors='replace')
                        if re.match(r'# (stress: survived|scale: \d+ resets)', line)]
        out.append(f"| {part} | {counts['pass']} | {counts['fail']} | {counts['skip']} | {'; '.join(survived)} |")
    return '\n'.join(out) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('build', nargs='?', default='build')
    parser.add_argument('--guest', action='append',
                        help='count only the results of this guest (repeatable)')
    parser.add_argument('--some-suites', action='store_true',
                        help='with --guest: only some of its suites ran')
    parser.add_argument('--subset', help='what ran, when not everything did')
    parser.add_argument('--figures', metavar='FILE',
                        help='write the figures as markdown to FILE (make figures puts them in README.md)')
    # Other tables than the repository's, for tests/tooling/test_results.py.
    parser.add_argument('--expected-skips', default=EXPECTED_SKIPS, help=argparse.SUPPRESS)
    parser.add_argument('--guest-table', default=GUEST_TABLE, help=argparse.SUPPRESS)
    args = parser.parse_args()
    res = Results(read_expected_skips(args.expected_skips))
    host = os.path.join(args.build, 'results', 'host.ktap')
    if os.path.exists(host) and not args.guest:
        res.read_ktap(host, 'host')
        res.check_expected_skips('host', not args.subset)
    guests = os.path.join(args.build, 'guests')
    kunit = expected_kunit(args.guest_table)
    names = sorted(os.listdir(guests)) if os.path.isdir(guests) else []
    subset = [s.strip() for s in args.subset.split(',')] if args.subset else []
    if not args.guest and (not subset or 'guests' in subset):
        for name in sorted(set(kunit) - set(names)):
            res.part = name
            res.add('fail', f'{name}.ran', [f'# guest {name} of tests/guests.tsv did not run'])
    for name in args.guest or names:
        res.part = name
        d = os.path.join(guests, name)
        console = os.path.join(d, 'console.log')
        if not os.path.exists(console):
            if name in kunit or args.guest:
                res.add('fail', f'{name}.ran', [f'# guest {name} has no console log: it did not boot'])
            continue
        ktap = os.path.join(d, 'results.ktap')
        seen, plan = res.read_ktap(ktap, name) if os.path.exists(ktap) else (0, None)
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
        res.check_expected_skips(name, not args.some_suites)
    for name, diag in res.failures:
        print(f'FAILED: {name}')
        for l in diag:
            print(f'    {l}')
    times = os.path.join(args.build, 'results', 'stage-times.tsv')
    stages = []
    if os.path.exists(times) and not args.guest:
        stages = [f for f in (line.rstrip('\n').split('\t') for line in open(times)) if len(f) == 2]
        print('time per stage:')
        for stage, seconds in stages:
            print(f'  {minutes(seconds):>12}  {stage}')
    total = res.passed + res.failed
    what_ran = f' (subset: {args.subset})' if args.subset else ''
    verdict = f'{res.passed} passed, {res.failed} failed, {res.skipped} skipped{what_ran}'
    if args.figures:
        with open(args.figures, 'w') as f:
            f.write(figures(res, verdict, stages, guests))
    print(verdict)
    # Nothing may print after this line: CI reads it as the verdict.
    return 1 if res.failed or total == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
