import autocannon from 'autocannon'

/** One load scenario's outcome, as the report prints it. */
export interface LoadResult {
  name: string
  connections: number
  perSecond: number
  p50ms: number
  p99ms: number
  /** Connection errors and timeouts. */
  errors: number
  non2xx: number
  fiveXx: number
}

export interface LoadOptions {
  name: string
  url: string
  connections: number
  seconds: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /**
   * Per-connection state: connection `slot` sends what `next(slot)` returns and hands each 2xx
   * body to `onBody(slot, body)`, so every connection walks its own refresh chain.
   */
  chain?: { next: (slot: number) => string, onBody: (slot: number, body: string) => void }
}

export async function runLoad (options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url)
  let slots = 0
  const result = await autocannon({
    url: target.origin,
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    setupClient: (client) => {
      const slot = slots++
      const { chain } = options
      client.setRequests([{
        method: options.method ?? 'GET',
        path: target.pathname,
        headers: options.headers,
        ...(chain === undefined
          ? { body: options.body }
          : {
              setupRequest: (request) => ({ ...request, body: chain.next(slot) }),
              onResponse: (status: number, body: string) => {
                if (status >= 200 && status < 300) chain.onBody(slot, body)
              }
            })
      }])
    }
  })
  return {
    name: options.name,
    connections: options.connections,
    perSecond: Math.round(result.requests.total / result.duration),
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    fiveXx: result['5xx']
  }
}
