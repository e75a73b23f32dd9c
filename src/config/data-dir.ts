/** `RAMPART_DATA_DIR`'s default; the launcher reads it before the configuration is loaded. */
export const DEFAULT_DATA_DIR = './.rampart';
