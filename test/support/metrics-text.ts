import { send, type RampartProcess } from './rampart-process.js';

/** The value of one series (`name{label="value",…}` exactly as exported) in a Prometheus text exposition, or undefined. */
export function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Scrapes the process's metrics port and reads the named series (undefined when absent). */
export async function readSeries(rampart: RampartProcess, series: readonly string[]): Promise<Record<string, number | undefined>> {
  const text = (await send(rampart.metricsUrl)).body;
  return Object.fromEntries(series.map((s) => [s, seriesValue(text, s)]));
}
