// `rampart worker --plugin bench/peers/rampart-jobs.mjs`: one no-op job type for the jobs bench.
import { recordPickup } from './job-pickup.mjs';

export function jobs() {
  return [{ type: 'bench.noop', run: async (payload) => recordPickup(payload) }];
}
