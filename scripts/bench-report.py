#!/usr/bin/env python3
"""bench-report.py SAMPLES.tsv: the table of make bench.

SAMPLES.tsv has one sample a line: round, kernel (base-a, series, base-b,
base-shifted, series-fi), metric, value. Each boot gives several samples of
a metric; their median is the boot's figure. Under TCG the DMA figures of a
whole boot are now and then 1.3 to 1.6 times higher, whichever the kernel
(seen with the base, the shifted base and the series alike): a kernel's
figure is the median of its boots' figures, and every comparison below is
made the same way:
  series/base  the series' figure over the base's (base-a and base-b boots);
  boot         |base-b / base-a - 1|: the same kernel booted again;
  layout       |base-shifted / base - 1|: the same code moved in memory
               (tests/bench/shift-text.patch), which TCG alone makes faster
               or slower;
  noise floor  the larger of the two.
The series is "inside the noise" when series/base deviates from 1 by no
more than the noise floor, else "slower" or "faster" than the noise allows.
"slow boots" counts, per kernel, the boots whose figure is over 1.25 times
the fastest boot's of any kernel. For the series-only metrics: median and
range of all samples.
"""
import collections
import statistics
import sys

FAST_PATH = [('dma_map_us', 'DMA map, us'), ('dma_unmap_us', 'DMA unmap (strict, device TLB), us'),
             ('flr_ms', 'FLR through sysfs, ms')]
SERIES_ONLY = [('quarantine_ms', 'ATC timeout logged -> device blocked, ms'),
               ('recovery_ms', 'FLR start -> DMA works again, ms')]
FAST_PATH_KERNELS = ('base-a', 'base-b', 'series', 'base-shifted')
SLOW_BOOT = 1.25


def main():
    samples = collections.defaultdict(list)  # (metric, kernel, round) -> values
    rounds = set()
    with open(sys.argv[1]) as f:
        next(f)
        for line in f:
            rnd, kernel, metric, value = line.split('\t')
            samples[(metric, kernel, int(rnd))].append(float(value))
            rounds.add(int(rnd))
    rounds = sorted(rounds)
    med = statistics.median

    print(f'{len(rounds)} rounds; each: base-a, series, base-b, base-shifted (same config), then the test kernel')
    print('a kernel\'s figure: the median of its boots\' medians (DMA figures are printed by the benchmark in 0.1 us steps)')
    print()
    hdr = (f'{"metric":36} {"base: median [boots]":>24} {"series: median [boots]":>24} {"series/base":>11}'
           f' {"boot":>6} {"layout":>6} {"noise floor":>11}  verdict')
    print(hdr)
    print('-' * len(hdr))
    worst = 0
    slow = []
    for metric, title in FAST_PATH:
        boots = {k: [med(samples[(metric, k, r)]) for r in rounds if samples.get((metric, k, r))]
                 for k in FAST_PATH_KERNELS}
        if any(len(boots[k]) != len(rounds) for k in FAST_PATH_KERNELS):
            print(f'{title:36} a boot gave no samples')
            worst = 1
            continue
        base = boots['base-a'] + boots['base-b']
        fig = {k: med(v) for k, v in boots.items()}
        fig['base'] = med(base)
        ratio = fig['series'] / fig['base']
        boot = abs(fig['base-b'] / fig['base-a'] - 1)
        layout = abs(fig['base-shifted'] / fig['base'] - 1)
        floor = max(boot, layout)
        verdict = ('inside the noise' if abs(ratio - 1) <= floor else
                   'SLOWER than the noise' if ratio > 1 else 'faster than the noise')
        cell = lambda v: f'{med(v):.2f} [{min(v):.2f}-{max(v):.2f}]'
        print(f'{title:36} {cell(base):>24} {cell(boots["series"]):>24} {ratio:11.3f}'
              f' {boot:6.3f} {layout:6.3f} {"+-%.3f" % floor:>11}  {verdict}')
        fastest = min(min(v) for v in boots.values())
        counts = {k: sum(b > SLOW_BOOT * fastest for b in boots[k]) for k in FAST_PATH_KERNELS}
        slow.append(f'{metric} ' + ', '.join(f'{k} {n}/{len(rounds)}' for k, n in counts.items()))
    print()
    print(f'slow boots (figure over {SLOW_BOOT}x the fastest boot\'s): ' + '; '.join(slow))
    print()
    for metric, title in SERIES_ONLY:
        values = [v for r in rounds for v in samples.get((metric, 'series-fi', r), [])]
        if values:
            print(f'{title:48} median {med(values):8.3f}  range {min(values):.3f}-{max(values):.3f}  ({len(values)} samples)')
        else:
            print(f'{title:48} no samples')
            worst = 1
    return worst


if __name__ == '__main__':
    sys.exit(main())
