import { describe, expect, it } from 'vitest';
import type { BrokerReport, Result } from '../../../bench/harness.js';
import { brokerPanels, renderReport, type Machine } from '../../../bench/report.js';
import { renderChart } from '../../../bench/svg-chart.js';

const result = (name: string, concurrency: number, rps: number, payloadBytes = 100): Result => ({
  name,
  concurrency,
  requests: rps,
  rps,
  p50: 1000 / rps,
  p99: 3000 / rps,
  errors: 0,
  nodeUs: 50,
  brokerUs: 40,
  roundRps: [rps * 0.9, rps, rps * 1.1],
  payloadBytes,
});

const report: BrokerReport = {
  broker: 'nats',
  title: 'NATS',
  sections: [
    {
      title: 'payload 100 B',
      kind: 'concurrency',
      payloadBytes: 100,
      results: [
        result('raw', 1, 100),
        result('ours', 1, 90),
        result('raw', 64, 1000),
        result('ours', 64, 950),
      ],
      pairs: [['ours', 'raw', 'against raw']],
      ratiosAgainst: ['raw'],
    },
    {
      title: 'payload 256 KiB',
      kind: 'payload',
      payloadBytes: 262144,
      results: [result('raw', 16, 40, 262144), result('ours', 16, 38, 262144)],
      pairs: [['ours', 'raw', 'against raw']],
    },
    {
      title: 'instances',
      kind: 'instances',
      results: [result('one', 64, 500), result('shared 2', 64, 300), result('own 2', 64, 480)],
      grid: {
        groups: ['1 instance', '2 instances'],
        series: [
          { name: 'shared reply topic', cells: ['one', 'shared 2'] },
          { name: 'reply topic each', cells: ['one', 'own 2'] },
        ],
      },
    },
  ],
  targets: [
    { label: 'ours ≥ 0.9× raw', value: 0.95, threshold: 0.9, held: true, detail: 'x' },
    { label: 'ours ≥ 1.3× Nest', value: 1.1, threshold: 1.3, held: false, detail: 'y' },
  ],
  notes: ['a note'],
};

const machine: Machine = {
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 4,
  loadAverage: [1, 1, 1],
  node: 'v20.0.0',
  os: 'Linux',
  brokers: { nats: 'nats-server: v2.9.10' },
};

describe('bench report', () => {
  it('lays out panels: req/s and latency by concurrency, MB/s of large payloads, instances as a grid', () => {
    const panels = brokerPanels(report);
    expect(panels.map((p) => p.unit)).toEqual(['req/s', 'ms', 'MB/s', 'req/s']);
    expect(panels[0]!.groups).toEqual(['c=1', 'c=64']);
    expect(panels[0]!.series).toEqual([
      { name: 'raw', values: [100, 1000] },
      { name: 'ours', values: [90, 950] },
    ]);
    expect(panels[1]!.log).toBe(true);
    expect(panels[1]!.series[0]!.behind).toEqual([30, 3]);
    expect(panels[2]!.groups).toEqual(['256 KiB, c=16']);
    expect(panels[2]!.series[1]!.values[0]).toBeCloseTo((38 * 262144) / 1e6);
    expect(panels[3]!.series).toEqual([
      { name: 'shared reply topic', values: [500, 300] },
      { name: 'reply topic each', values: [500, 480] },
    ]);
  });

  it('renders an SVG with one bar per series and group, and every series in the legend', () => {
    const svg = renderChart('NATS <test>', brokerPanels(report));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('NATS &lt;test&gt;');
    // 4 + 4 (p50) + 4 (p99 behind) + 2 (MB/s) + 4 (instances)
    expect(svg.match(/<rect class="bar"/g)).toHaveLength(18);
    expect(svg.match(/<rect class="legend"/g)).toHaveLength(4);
    for (const name of ['raw', 'ours', 'shared reply topic', 'reply topic each'])
      expect(svg).toContain(`>${name}</text>`);
    expect(svg).not.toContain('NaN');
  });

  it('writes the machine, the targets held or missed, every table with its ratios, and the chart link', () => {
    const md = renderReport([report], machine, { quick: false, elapsedMs: 65_000 }, '2026-01-02', {
      nats: '2026-01-02-nats.svg',
    });
    expect(md).toContain('# Benchmark report 2026-01-02');
    expect(md).toContain('in 1m05s');
    expect(md).toContain('Test CPU, 2 cores');
    expect(md).toContain('nats-server: v2.9.10');
    expect(md).toMatch(/\| NATS \| ours ≥ 0\.9× raw \| 0\.95× \| held \|/);
    expect(md).toMatch(/\| NATS \| ours ≥ 1\.3× Nest \| 1\.10× \| \*\*missed\*\* \|/);
    expect(md).toContain('![NATS chart](2026-01-02-nats.svg)');
    for (const title of ['### payload 100 B', '### payload 256 KiB', '### instances'])
      expect(md).toContain(title);
    expect(md).toContain('c=64 ours / raw (against raw): **0.95× (rounds 0.95–0.95×)**');
    expect(md).toContain('| 16 | ours | 38 | 10.0 |'); // MB/s next to req/s for a large payload
  });
});
