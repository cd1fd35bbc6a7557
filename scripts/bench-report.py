#!/usr/bin/env python3
"""bench-report.py SAMPLES.tsv: the table of make bench.

SAMPLES.tsv has one sample a line: round, kernel (base-a, series, base-b,
base-shifted, series-fi), metric, value. Each boot gives several samples of
a metric; their median is the boot's figure. Under TCG the DMA figures of a
whole boot are often 1.3 to 1.7 times those of another boot of the same
kernel, so no single pair of boots is trusted. Per fast-path metric:
  base, series    the median of the kernel's boots (base: base-a and
                  base-b), with the range of its boots;
  series/base     the ratio of those medians;
  boot            the spread of the base's own boots: slowest / fastest - 1;
  layout          |base-shifted / base - 1|, medians: the same code moved in
                  memory (tests/bench/shift-text.patch), which TCG alone
                  makes faster or slower;
  noise floor     the larger of boot and layout;
  fastest boots   series/base and base-shifted/base of each kernel's
                  fastest boot, for the case where slow boots dominate.
The series is "inside the noise" when series/base deviates from 1 by no
more than the noise floor, else "slower" or "faster" than the noise allows;
a floor over 10% is flagged: such a run cannot show a cost of a few
percent. Every boot's figure is printed. For the series-only metrics:
median and range of all samples.
"""
import collections
import statistics
import sys

FAST_PATH = [('dma_map_us', 'DMA map, us'), ('dma_unmap_us', 'DMA unmap (strict, device TLB), us'),
             ('flr_ms', 'FLR through sysfs, ms')]
SERIES_ONLY = [('fence_ms', 'ITE handled -> device fenced off, ms'),
               ('quarantine_ms', 'ITE handled -> device blocked by the core, ms'),
               ('recovery_ms', 'FLR start -> DMA works again, ms')]
FAST_PATH_KERNELS = ('base-a', 'base-b', 'series', 'base-shifted')


def main():
    samples = collections.defaultdict(list)  # (metric, kernel, round) -> values
    rounds = set()
    with open(sys.argv[1]) as f:
        next(f)
        for line in f:
            if not line.strip():
                continue
            rnd, kernel, metric, value = line.split('\t')
            samples[(metric, kernel, int(rnd))].append(float(value))
            rounds.add(int(rnd))
    rounds = sorted(rounds)
    if not rounds:
        print('no samples')
        return 1
    med = statistics.median

    print(f'{len(rounds)} rounds; each: base-a, series, base-b, base-shifted (same config, order turning), then the test kernel')
    print('a boot\'s figure: the median of its samples; a kernel\'s: the median of its boots\' '
          '(the DMA benchmark prints 0.1 us steps)')
    print()
    hdr = (f'{"metric":36} {"base: median [boots]":>24} {"series: median [boots]":>24} {"series/base":>11}'
           f' {"boot":>6} {"layout":>6} {"noise floor":>11}  verdict')
    print(hdr)
    print('-' * len(hdr))
    worst = 0
    details = []
    for metric, title in FAST_PATH:
        boots = {k: [med(samples[(metric, k, r)]) for r in rounds if samples.get((metric, k, r))]
                 for k in FAST_PATH_KERNELS}
        missing = [f'{k} round {r}' for k in FAST_PATH_KERNELS for r in rounds if not samples.get((metric, k, r))]
        if missing or min(min(v) for v in boots.values()) <= 0:
            print(f'{title:36} no usable samples: {", ".join(missing) or "a figure of 0"}')
            worst = 1
            continue
        base = boots['base-a'] + boots['base-b']
        ratio = med(boots['series']) / med(base)
        boot = max(base) / min(base) - 1
        layout = abs(med(boots['base-shifted']) / med(base) - 1)
        floor = max(boot, layout)
        verdict = ('inside the noise' if abs(ratio - 1) <= floor else
                   'SLOWER than the noise' if ratio > 1 else 'faster than the noise')
        if floor > 0.10:
            verdict += ' (too noisy to show 10%)'
        cell = lambda v: f'{med(v):.2f} [{min(v):.2f}-{max(v):.2f}]'
        print(f'{title:36} {cell(base):>24} {cell(boots["series"]):>24} {ratio:11.3f}'
              f' {boot:6.3f} {layout:6.3f} {"+-%.3f" % floor:>11}  {verdict}')
        details.append(f'{metric}: fastest boots: series/base {min(boots["series"]) / min(base):.3f},'
                       f' base-shifted/base {min(boots["base-shifted"]) / min(base):.3f}; boots: ' +
                       '; '.join(f'{k} ' + ' '.join(f'{b:g}' for b in boots[k]) for k in FAST_PATH_KERNELS))
    print()
    print('\n'.join(details))
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
