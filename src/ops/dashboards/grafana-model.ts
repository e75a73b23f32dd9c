/**
 * The small part of Grafana's dashboard JSON model the boards use: time series, stats and
 * rows on a 24-column grid, every query against the data source chosen in `$datasource`.
 */

export interface Query {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  kind: 'timeseries' | 'stat';
  title: string;
  description?: string;
  queries: Query[];
  /** Grafana unit id: percentunit, s, reqps, bytes, short… */
  unit?: string;
  /** A red line (time series) or red background (stat) from this value up, or down with `below`. */
  threshold?: { value: number; below?: boolean };
  min?: number;
  max?: number;
  width?: number;
  height?: number;
}

export interface RowSpec {
  row: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Template variables over a label, e.g. job from `http_requests_total`. */
  variables?: Array<{ name: string; metric: string; label: string }>;
  items: Array<PanelSpec | RowSpec>;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

export function dashboardJson(spec: DashboardSpec): Record<string, unknown> {
  const panels: unknown[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  let id = 1;
  for (const item of spec.items) {
    if ('row' in item) {
      if (x > 0) y += rowHeight;
      panels.push({ type: 'row', title: item.row, id: id++, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
      y += 1;
      x = 0;
      rowHeight = 0;
      continue;
    }
    const w = item.width ?? 12;
    const h = item.height ?? (item.kind === 'stat' ? 4 : 8);
    if (x + w > 24) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    panels.push(panelJson(item, id++, { x, y, w, h }));
    x += w;
    rowHeight = Math.max(rowHeight, h);
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['rampart'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        ...(spec.variables ?? []).map((v) => ({
          name: v.name,
          label: v.label,
          type: 'query',
          datasource: DATASOURCE,
          query: { query: `label_values(${v.metric}, ${v.label})`, refId: 'variable' },
          definition: `label_values(${v.metric}, ${v.label})`,
          includeAll: true,
          allValue: '.*',
          multi: true,
          current: {},
          refresh: 2,
          hide: 0,
        })),
      ],
    },
    panels,
  };
}

function panelJson(panel: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const steps = panel.threshold
    ? panel.threshold.below
      ? [{ color: 'red', value: null }, { color: 'green', value: panel.threshold.value }]
      : [{ color: 'green', value: null }, { color: 'red', value: panel.threshold.value }]
    : [{ color: 'green', value: null }];
  return {
    id,
    type: panel.kind,
    title: panel.title,
    ...(panel.description ? { description: panel.description } : {}),
    datasource: DATASOURCE,
    gridPos,
    targets: panel.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: q.expr,
      legendFormat: q.legend ?? '__auto',
      range: true,
    })),
    fieldConfig: {
      defaults: {
        unit: panel.unit ?? 'short',
        ...(panel.min !== undefined ? { min: panel.min } : {}),
        ...(panel.max !== undefined ? { max: panel.max } : {}),
        thresholds: { mode: 'absolute', steps },
        ...(panel.kind === 'timeseries' && panel.threshold ? { custom: { thresholdsStyle: { mode: 'line' } } } : {}),
      },
      overrides: [],
    },
    options: panel.kind === 'stat'
      ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'background', graphMode: 'area', textMode: 'auto' }
      : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
  };
}
