// Grouped bar charts as plain SVG: a few rects and texts, so the bench needs no charting dependency
// (and its headless browser or canvas) to draw what GitHub shows as an image.

/** One series of bars: a value per group (NaN: no bar), and optionally a second value drawn behind it. */
export interface Series {
  name: string;
  values: number[];
  /** A second value per group drawn as a lighter bar behind the first (p99 behind p50). */
  behind?: number[];
}

/** One panel: groups along the x axis, one bar per series in each group. */
export interface Panel {
  title: string;
  unit: string;
  groups: string[];
  series: Series[];
  /** Logarithmic y axis, for latencies spanning decades. */
  log?: boolean;
}

const WIDTH = 960;
const PANEL_HEIGHT = 250;
const LEFT = 70;
const RIGHT = 20;
const TOP = 50;
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/** Colour of the `i`-th series (the same in every panel of a chart). */
export function colour(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`,
  );
}

/** A chart of stacked panels under one title, with one legend for every series name in any panel. */
export function renderChart(title: string, panels: Panel[], subtitle = ''): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const legendRows = Math.ceil(names.length / 4);
  const legendHeight = legendRows * 18 + 10;
  const height = TOP + legendHeight + panels.length * (PANEL_HEIGHT + 40) + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  if (subtitle) out.push(`<text x="${LEFT}" y="40" fill="#555">${escapeXml(subtitle)}</text>`);
  names.forEach((name, i) => {
    const x = LEFT + (i % 4) * 220;
    const y = TOP + Math.floor(i / 4) * 18;
    out.push(
      `<rect class="legend" x="${x}" y="${y}" width="12" height="12" fill="${colour(i)}"/>`,
      `<text x="${x + 18}" y="${y + 10}">${escapeXml(name)}</text>`,
    );
  });
  panels.forEach((panel, i) => {
    out.push(renderPanel(panel, TOP + legendHeight + i * (PANEL_HEIGHT + 40), names));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function renderPanel(panel: Panel, top: number, names: string[]): string {
  const plotTop = top + 22;
  const plotHeight = PANEL_HEIGHT - 50;
  const plotWidth = WIDTH - LEFT - RIGHT;
  const values = panel.series.flatMap((s) => [...s.values, ...(s.behind ?? [])]).filter((v) => v > 0);
  const scale = panel.log ? logScale(values) : linearScale(values);
  const y = (v: number) => plotTop + plotHeight - scale.fraction(v) * plotHeight;
  const out: string[] = [
    `<g class="panel">`,
    `<text x="${LEFT}" y="${top + 12}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    `<text x="14" y="${plotTop + plotHeight / 2}" transform="rotate(-90 14 ${plotTop + plotHeight / 2})" text-anchor="middle" fill="#555">${escapeXml(panel.unit)}</text>`,
  ];
  for (const tick of scale.ticks) {
    const ty = y(tick);
    out.push(
      `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${LEFT - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end" fill="#555">${formatTick(tick)}</text>`,
    );
  }
  const groupWidth = plotWidth / Math.max(1, panel.groups.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, panel.series.length);
  panel.groups.forEach((group, g) => {
    const gx = LEFT + g * groupWidth;
    out.push(
      `<text x="${(gx + groupWidth / 2).toFixed(1)}" y="${plotTop + plotHeight + 16}" text-anchor="middle">${escapeXml(group)}</text>`,
    );
    panel.series.forEach((s, i) => {
      const x = gx + groupWidth * 0.1 + i * barWidth;
      const fill = colour(names.indexOf(s.name));
      const bar = (v: number | undefined, extra: string) => {
        if (v === undefined || !(v > 0)) return;
        const by = y(v);
        out.push(
          `<rect class="bar" data-series="${escapeXml(s.name)}" data-group="${escapeXml(group)}" x="${x.toFixed(1)}" y="${by.toFixed(1)}" width="${(barWidth * 0.9).toFixed(1)}" height="${(plotTop + plotHeight - by).toFixed(1)}" fill="${fill}"${extra}><title>${escapeXml(`${s.name}, ${group}: ${formatTick(v)} ${panel.unit}`)}</title></rect>`,
        );
      };
      bar(s.behind?.[g], ' fill-opacity="0.35"');
      bar(s.values[g], '');
    });
  });
  out.push(
    `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${plotTop + plotHeight}" y2="${plotTop + plotHeight}" stroke="#333"/>`,
    '</g>',
  );
  return out.join('\n');
}

interface Scale {
  fraction(v: number): number;
  ticks: number[];
}

function linearScale(values: number[]): Scale {
  const max = niceCeil(Math.max(1e-9, ...values));
  const step = max / 5;
  return {
    fraction: (v) => Math.max(0, v) / max,
    ticks: Array.from({ length: 6 }, (_, i) => i * step),
  };
}

function logScale(values: number[]): Scale {
  const lo = Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values, 1))));
  return {
    fraction: (v) => (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo),
    ticks: Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)),
  };
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `v`. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function formatTick(v: number): string {
  if (v >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  if (v >= 1) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}
