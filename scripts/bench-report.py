#!/usr/bin/env python3
"""bench-report.py SAMPLES.tsv: the table of make bench.

SAMPLES.tsv has one sample a line: round, kernel (base-a, series, base-b,
series-fi), metric, value. For each fast-path metric: the median and range
of each kernel's samples; series/base, the median over rounds of the
series' median divided by the mean of that round's two base medians; and the
noise floor, the largest deviation from 1 of a round's base-b/base-a. The
series is "inside the noise" when series/base deviates from 1 by no more
than the noise floor. For the series-only metrics: median and range.
"""
import collections
import statistics
import sys

FAST_PATH = [('dma_map_us', 'DMA map, us'), ('dma_unmap_us', 'DMA unmap (strict, device TLB), us'),
             ('flr_ms', 'FLR through sysfs, ms')]
SERIES_ONLY = [('quarantine_ms', 'ATC timeout logged -> device blocked, ms'),
               ('recovery_ms', 'FLR start -> DMA works again, ms')]


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

    def all_of(metric, kernel):
        return [v for r in rounds for v in samples.get((metric, kernel, r), [])]

    def med(values):
        return statistics.median(values) if values else float('nan')

    print(f'{len(rounds)} rounds; each: base-a, series, base-b (same config), then the test kernel')
    print()
    hdr = f'{"metric":38} {"base: median [range]":>24} {"series: median [range]":>24} {"series/base":>11} {"noise floor":>11}  verdict'
    print(hdr)
    print('-' * len(hdr))
    worst = 0
    for metric, title in FAST_PATH:
        base = all_of(metric, 'base-a') + all_of(metric, 'base-b')
        series = all_of(metric, 'series')
        if not base or not series:
            print(f'{title:38} no samples')
            worst = 1
            continue
        ratios, noise = [], []
        for r in rounds:
            a, b, s = (med(samples.get((metric, k, r), [])) for k in ('base-a', 'base-b', 'series'))
            if a > 0 and b > 0:
                ratios.append(s / ((a + b) / 2))
                noise.append(abs(b / a - 1))
        ratio, floor = med(ratios), max(noise)
        verdict = 'inside the noise' if abs(ratio - 1) <= floor else 'OUTSIDE the noise'
        cell = lambda v: f'{med(v):.2f} [{min(v):.2f}-{max(v):.2f}]'
        print(f'{title:38} {cell(base):>24} {cell(series):>24} {ratio:11.3f} {"+-%.3f" % floor:>11}  {verdict}')
    print()
    for metric, title in SERIES_ONLY:
        values = all_of(metric, 'series-fi')
        if values:
            print(f'{title:48} median {med(values):8.3f}  range {min(values):.3f}-{max(values):.3f}  ({len(values)} samples)')
        else:
            print(f'{title:48} no samples')
            worst = 1
    return worst


if __name__ == '__main__':
    sys.exit(main())
