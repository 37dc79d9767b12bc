import http from 'node:http'

export interface FeedLagResult {
  streams: number
  revocations: number
  /** Revocations whose event had not reached every stream within the timeout. */
  missed: number
  /** Revoke request sent → its event received on every stream. */
  p50ms: number
  p99ms: number
}

interface Stream { arrivals: Map<string, number>, request: http.ClientRequest }

/** Opens a GET /revocations/stream and records when each revoked sid arrives. */
async function openStream (url: string, onEvent: () => void): Promise<Stream> {
  const arrivals = new Map<string, number>()
  return await new Promise((resolve, reject) => {
    const request = http.get(`${url}/revocations/stream`, { agent: false }, (response) => {
      if (response.statusCode !== 200) { reject(new Error(`stream answered ${response.statusCode}`)); return }
      let buffered = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        buffered += chunk
        let end: number
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const event = buffered.slice(0, end)
          buffered = buffered.slice(end + 2)
          const data = /^data: (.*)$/m.exec(event)
          if (data !== null && /^event: revoked$/m.test(event)) {
            arrivals.set((JSON.parse(data[1]!) as { sid: string }).sid, performance.now())
            onEvent()
          }
        }
      })
      resolve({ arrivals, request })
    })
    request.on('error', reject)
  })
}

/**
 * `streams` SSE subscribers while `load` runs; each session of `revoke` is revoked in turn and the
 * time until its event has reached every stream is measured.
 */
export async function measureFeedLag (
  url: string, streamCount: number, sessions: Array<{ sid: string, revoke: () => Promise<void> }>, timeoutMs = 5000
): Promise<FeedLagResult> {
  let wake: (() => void) | undefined
  const streams: Stream[] = []
  for (let i = 0; i < streamCount; i++) streams.push(await openStream(url, () => wake?.()))
  const lags: number[] = []
  let missed = 0
  for (const session of sessions) {
    const sent = performance.now()
    await session.revoke()
    const deadline = sent + timeoutMs
    while (!streams.every((stream) => stream.arrivals.has(session.sid)) && performance.now() < deadline) {
      await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50) })
    }
    const times = streams.map((stream) => stream.arrivals.get(session.sid))
    if (times.some((time) => time === undefined)) missed++
    else lags.push(Math.max(...(times as number[])) - sent)
  }
  for (const stream of streams) stream.request.destroy()
  lags.sort((a, b) => a - b)
  const quantile = (q: number): number =>
    Math.round(lags[Math.min(lags.length - 1, Math.floor(lags.length * q))] ?? Number.NaN)
  return { streams: streamCount, revocations: sessions.length, missed, p50ms: quantile(0.5), p99ms: quantile(0.99) }
}
