#!/usr/bin/env python3
"""make figures: copy the figures of the last runs into README.md, so that
none is typed. Each block of README.md between "<!-- make figures: NAME -->"
and "<!-- end of make figures: NAME -->" is replaced with what a run wrote:
  check   build/results/figures.md (scripts/results.py: a whole make check)
  stress  build/stress/figures.md (scripts/stress.sh: the parts run, named)
  bench   build/bench/table.md (scripts/bench-report.py: make bench)
Only the figures of a run that finished and passed (for stress: the parts
that ran, each named) are taken; any other block is kept as it is, and the
reason printed."""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(TOP, 'README.md')
SOURCES = {
    'check': os.path.join('build', 'results', 'figures.md'),
    'stress': os.path.join('build', 'stress', 'figures.md'),
    'bench': os.path.join('build', 'bench', 'table.md'),
}
VERDICT = re.compile(r'\*\*(\d+) passed, (\d+) failed, \d+ skipped(.*?)\*\*')


def why_not(name, text):
    """Why TEXT, the figures of run NAME, cannot go into the README."""
    if name == 'bench':
        if 'MISSING' in text or 'targets:' not in text:
            return 'the benchmark did not complete'
        return None
    m = VERDICT.search(text)
    if not m:
        return 'no verdict line: the run did not finish'
    if int(m.group(2)):
        return f'the run failed ({m.group(2)} failed)'
    if 'subset' in m.group(3):
        return 'figures of make check STAGES=...: run the whole make check'
    return None


def replace_block(readme, name, text):
    begin, end = f'<!-- make figures: {name} -->', f'<!-- end of make figures: {name} -->'
    if readme.count(begin) != 1 or readme.count(end) != 1 or readme.index(begin) > readme.index(end):
        sys.exit(f'README.md needs one "{begin}" line and, after it, one "{end}" line')
    head, rest = readme.split(begin)
    _, tail = rest.split(end)
    return f'{head}{begin}\n{text}{end}{tail}'


def main():
    readme = open(README).read()
    for name, rel in SOURCES.items():
        path = os.path.join(TOP, rel)
        if not os.path.exists(path):
            print(f'{name}: kept: no {rel} (run make {name})')
            continue
        text = open(path).read()
        reason = why_not(name, text)
        if reason:
            print(f'{name}: kept: {rel}: {reason}')
            continue
        readme = replace_block(readme, name, text)
        print(f'{name}: README.md has the figures of {rel}')
    with open(README + '.new', 'w') as f:
        f.write(readme)
    os.replace(README + '.new', README)


if __name__ == '__main__':
    main()
