/** The few HTTP helpers the kit needs, on Node's own fetch: no client library to keep up to date. */

export const REQUEST_TIMEOUT_MS = 5_000

export async function getJson (url: string, headers: Record<string, string> = {}): Promise<{ status: number, headers: Headers, body: unknown }> {
  const response = await fetch(url, {
    headers: { accept: 'application/json', ...headers },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    redirect: 'error'
  })
  if (response.status === 304) return { status: 304, headers: response.headers, body: undefined }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`GET ${url} answered ${response.status}`)
  }
  return { status: 200, headers: response.headers, body: await response.json() }
}

/** The `max-age` of a Cache-Control header in seconds, or undefined when it has none (or says no-store). */
export function maxAgeOf (cacheControl: string | null): number | undefined {
  if (cacheControl === null || /(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return undefined
  const match = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl)
  return match === null ? undefined : Number(match[1])
}
