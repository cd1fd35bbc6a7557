#!/usr/bin/env python3
"""bench-report.py SAMPLES.tsv: the table of make bench, in markdown.

SAMPLES.tsv (scripts/bench.sh) starts with "# clock: ..." (how the guests
kept time) and "# machines: ..." (the machines every fast-path metric must
have been measured on), then a header and one sample a line: round,
machine, kernel (base-a, base-b, base-shifted, series; series-fi for the
test kernel), metric, value. A boot gives several samples of a metric;
their median is the boot's figure, and the median of its boots' figures is
the kernel's.

Per fast-path metric and machine:
  series/base   the ratio of figures, with a 95% confidence interval from a
                two-level bootstrap (boots drawn with replacement, then
                samples within each drawn boot): the sampling noise. Over
                five boots it spans about the range of the boots' ratios;
  floor         what the base shows against itself, which no interval
                catches: base-b/base-a (boots alike?) and base-shifted/base
                (the same code moved, tests/bench/shift-text.patch; under
                the wall clock TCG alone makes that faster or slower), as
                point ratios, and never less than one step of the
                metric's resolution;
  verdict       "series slower by X%" (or faster) when the whole interval
                lies beyond the floor; "..., not beyond the floor" when it
                excludes 1 but not the floor; else "no difference larger
                than X%", X the interval's reach plus the floor, or "floor
                too wide" / "too noisy to tell" when X would be over 10%.
A kernel with fewer than MIN_BOOTS boots, or a machine and metric without
samples, makes the report fail (exit 1). For the series-only metrics:
median and range of all samples.
"""
import collections
import random
import statistics
import sys

FAST_PATH = [('dma_map_us', 'DMA map, us'), ('dma_unmap_us', 'DMA unmap (strict), us'),
             ('qi_submit_us', "an unmap's qi_submit_sync() (traced), us"), ('flr_ms', 'FLR through sysfs, ms')]
# The step of each metric as the guest prints it: dma_map_benchmark's 0.1 us,
# function_graph's and the FLR's ns.
RESOLUTION = {'dma_map_us': 0.1, 'dma_unmap_us': 0.1, 'qi_submit_us': 0.001, 'flr_ms': 0.000001}
SERIES_ONLY = [('fence_ms', 'ITE handled -> device fenced, ms'),
               ('quarantine_ms', 'ITE handled -> core blocked it, ms'),
               ('recovery_ms', 'FLR start -> DMA works again, ms')]
MACHINE_TITLES = {'x86-legacy': 'VT-d', 'x86-legacy-cm': 'VT-d caching mode', 'x86-scalable': 'VT-d scalable'}
KERNELS = ('base-a', 'base-b', 'base-shifted', 'series')
MIN_BOOTS = 3
BOOTSTRAP_DRAWS = 2000
CONFIDENCE = 0.95
TOO_WIDE = 0.10
TARGET_FLOOR, TARGET_RATIO = 0.01, 1.01


def read_samples(path):
    """The clock lines, the machines, and {(machine, metric, kernel): {round: [values]}}."""
    clock, machines = [], []
    samples = collections.defaultdict(lambda: collections.defaultdict(list))
    with open(path) as f:
        for line in f:
            if line.startswith('# clock:'):
                clock.append(line[len('# clock:'):].strip())
            elif line.startswith('# machines:'):
                machines += line[len('# machines:'):].split()
            elif line.strip() and not line.startswith(('#', 'round\t')):
                rnd, machine, kernel, metric, value = line.rstrip('\n').split('\t')
                samples[(machine, metric, kernel)][int(rnd)].append(float(value))
    return clock, machines, samples


def figure(boots):
    """A kernel's figure: the median of its boots' medians."""
    return statistics.median(statistics.median(b) for b in boots)


def redraw(boots, rng):
    """One bootstrap draw: boots with replacement, samples within each."""
    return [[rng.choice(b) for _ in b] for b in (rng.choice(boots) for _ in boots)]


def ratio_interval(num, den, rng):
    """figure(num) / figure(den) and its bootstrap confidence interval."""
    draws = sorted(figure(redraw(num, rng)) / figure(redraw(den, rng)) for _ in range(BOOTSTRAP_DRAWS))
    cut = int(BOOTSTRAP_DRAWS * (1 - CONFIDENCE) / 2)
    return figure(num) / figure(den), draws[cut], draws[-cut - 1]


def reach(interval):
    """How far from 1 an interval (ratio, low, high) reaches."""
    return max(abs(interval[1] - 1), abs(interval[2] - 1))


def verdict(series, floor):
    """The verdict on series = (ratio, low, high) against the floor."""
    ratio, low, high = series
    ci = f'95% CI {low - 1:+.1%} to {high - 1:+.1%}'
    if low > 1 + floor:
        return f'series slower by {ratio - 1:.1%} ({ci})'
    if high < 1 - floor:
        return f'series faster by {1 - ratio:.1%} ({ci})'
    if low > 1:
        return f'series slower by {ratio - 1:.1%} ({ci}), not beyond the floor'
    if high < 1:
        return f'series faster by {1 - ratio:.1%} ({ci}), not beyond the floor'
    if floor > TOO_WIDE:
        return f'floor too wide (+-{floor:.1%}) to tell'
    if reach(series) + floor > TOO_WIDE:
        return f'too noisy to tell ({ci})'
    return f'no difference larger than {reach(series) + floor:.1%}'


def fmt(interval):
    return f'{interval[0]:.4f} [{interval[1]:.4f}, {interval[2]:.4f}]'


def fast_path_row(samples, machine, metric, title):
    """(row, None, floor, ratio), or (None, what is wrong, None, None)."""
    where = f'{title}, {MACHINE_TITLES.get(machine, machine)}'
    boots = {k: list(samples.get((machine, metric, k), {}).values()) for k in KERNELS}
    few = [f'{k} ({len(v)})' for k, v in boots.items() if len(v) < MIN_BOOTS]
    if few:
        return None, f'{where}: fewer than {MIN_BOOTS} boots from {", ".join(few)}', None, None
    if min(min(min(b) for b in v) for v in boots.values()) <= 0:
        return None, f'{where}: a sample of 0 or less', None, None
    rng = random.Random(f'{machine}/{metric}')  # the same samples give the same row
    base = boots['base-a'] + boots['base-b']
    base_vs_base = ratio_interval(boots['base-b'], boots['base-a'], rng)
    shifted = ratio_interval(boots['base-shifted'], base, rng)
    series = ratio_interval(boots['series'], base, rng)
    floor = max(abs(base_vs_base[0] - 1), abs(shifted[0] - 1), RESOLUTION[metric] / figure(base))
    row = (f'| {title} | {MACHINE_TITLES.get(machine, machine)} | {figure(base):.4g} | {fmt(base_vs_base)}'
           f' | {fmt(shifted)} | {floor:.2%} | {fmt(series)} | {verdict(series, floor)} |')
    return row, None, floor, series[0]


def main():
    clock, machines, samples = read_samples(sys.argv[1])
    rounds = {r for v in samples.values() for r in v}
    print(f'{len(rounds)} round{"s" if len(rounds) != 1 else ""}; clock: {"; ".join(clock) or "not recorded"}')
    print()
    print('| metric | machine | base | base-b/base-a | shifted/base | floor | series/base | verdict |')
    print('|---|---|---|---|---|---|---|---|')
    problems, floors_met, ratios_met, rows = [], 0, 0, 0
    if not machines:
        problems.append('no "# machines:" line: which machines were measured?')
    for metric, title in FAST_PATH:
        for machine in machines:
            row, problem, floor, ratio = fast_path_row(samples, machine, metric, title)
            if problem:
                problems.append(problem)
                continue
            print(row)
            rows += 1
            floors_met += floor <= TARGET_FLOOR
            ratios_met += ratio <= TARGET_RATIO
    print()
    print('ratios: figure [95% CI]; a figure: the median of the boots\' medians')
    print(f'targets: floor <= {TARGET_FLOOR:.0%} on {floors_met} of {rows} rows,'
          f' series/base <= {TARGET_RATIO} on {ratios_met} of {rows}')
    print()
    for metric, title in SERIES_ONLY:
        values = [v for (m, x, k), by_round in samples.items() if x == metric and k == 'series-fi'
                  for vs in by_round.values() for v in vs]
        if values:
            print(f'- {title}: median {statistics.median(values):.4g}, range {min(values):.4g}-{max(values):.4g}'
                  f' ({len(values)} samples)')
        else:
            problems.append(f'{title}: no samples')
    for problem in problems:
        print(f'MISSING: {problem}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
