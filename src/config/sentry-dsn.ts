/**
 * Why `dsn` is not a Sentry DSN (`https://PUBLIC_KEY@HOST[:PORT]/[PATH/]PROJECT_ID`), or undefined
 * when it is one. The same rules as the SDK's parser, which otherwise drops every report without
 * a word. Never quotes the value: it is a secret.
 */
export function sentryDsnProblem(dsn: string): string | undefined {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must start with https:// (or http://)';
  if (url.username === '') return 'has no public key (expected https://PUBLIC_KEY@HOST/PROJECT_ID)';
  if (url.hostname === '') return 'has no host';
  const projectId = url.pathname.split('/').at(-1) ?? '';
  if (!/^\d+$/.test(projectId)) return 'does not end with a numeric project id (expected https://PUBLIC_KEY@HOST/PROJECT_ID)';
  if (url.search !== '' || url.hash !== '') return 'must not have a query string or fragment';
  return undefined;
}
