/**
 * The `wait` preference of a `Prefer` header (RFC 7240), in whole seconds, at most `maxSeconds`; undefined
 * when there is none or it is not a number (a preference not understood is ignored, never an error).
 *
 * @example preferWait('respond-async, wait=5', 20) // 5
 */
export function preferWait(header: string | undefined, maxSeconds: number): number | undefined {
  if (!header) return undefined;
  for (const preference of header.split(',')) {
    const [token = '', value = ''] = (preference.split(';')[0] ?? '').split('=').map((p) => p.trim());
    if (token.toLowerCase() !== 'wait') continue;
    const seconds = value.replace(/^"(.*)"$/, '$1');
    if (!/^\d{1,9}$/.test(seconds)) return undefined;
    return Math.min(Number(seconds), maxSeconds);
  }
  return undefined;
}
