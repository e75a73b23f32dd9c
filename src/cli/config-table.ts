import { configSchema, type Field } from '../config/schema.js';

const formatDefault = (f: Field): string => {
  if (f.default === undefined) return '—';
  if (Array.isArray(f.default)) return f.default.length === 0 ? '(empty)' : `\`${f.default.join(',')}\``;
  return `\`${String(f.default)}\``;
};

const formatType = (f: Field): string => (f.kind === 'enum' ? (f.values ?? []).map((v) => `\`${v}\``).join(' \\| ') : f.kind);

/** The README's configuration table, generated from the schema (a test keeps them equal). */
export function configMarkdownTable(): string {
  const rows = (Object.values(configSchema) as Field[]).map(
    (f) => `| \`${f.env}\` | ${formatType(f)} | ${formatDefault(f)} | ${f.secret ? 'yes' : ''} | ${f.description} |`,
  );
  return ['| Variable | Type | Default | Secret | Meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
