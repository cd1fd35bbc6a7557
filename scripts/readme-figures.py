#!/usr/bin/env python3
"""make figures: copy the figures of the last runs into README.md, so that
none is typed. Each block of README.md between "<!-- make figures: NAME -->"
and "<!-- end of make figures: NAME -->" is replaced with what the run wrote:
  check   build/results/figures.md (scripts/results.py, a whole make check)
  bench   build/bench/table.md (scripts/bench-report.py, make bench)
  stress  build/results/stress-figures.md (make stress, every part run)
A block whose run left nothing is kept as it is, and said so."""
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(TOP, 'README.md')
SOURCES = {
    'check': os.path.join('build', 'results', 'figures.md'),
    'bench': os.path.join('build', 'bench', 'table.md'),
    'stress': os.path.join('build', 'results', 'stress-figures.md'),
}


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
            print(f'{name}: no {rel} (run make {name}): README.md keeps its figures')
            continue
        text = open(path).read()
        if '(subset:' in text:
            sys.exit(f'{rel} is from make check STAGES=...: run the whole make check for the README')
        readme = replace_block(readme, name, text)
        print(f'{name}: README.md has the figures of {rel}')
    with open(README, 'w') as f:
        f.write(readme)


if __name__ == '__main__':
    main()
