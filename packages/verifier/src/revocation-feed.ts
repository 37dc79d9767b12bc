import { getJson, REQUEST_TIMEOUT_MS } from './http.js'
import type { RevokedSessions } from './revoked-sessions.js'
import { SseParser } from './sse-parser.js'

export type FeedMode = 'stream' | 'poll'

export interface FeedOptions {
  mode: FeedMode
  snapshotUrl: string
  streamUrl: string | undefined
  revoked: RevokedSessions
  pollIntervalMs?: number
}

interface Page { revoked: Array<{ sid: string, revokedAt: number }>, cursor: string }

const DEFAULT_POLL_INTERVAL_MS = 1_000
const RECONNECT_MS = 1_000
const MAX_RECONNECT_MS = 5_000
// The service sends a comment at least every 15 s: silence for longer means a dead connection
// (a half-open TCP connection would otherwise look open forever).
const STREAM_IDLE_MS = 35_000
// A page this large may have a next one; the service's pages are far larger than any quiet window.
const FULL_PAGE = 1_000

function parsePage (body: unknown): Page {
  const page = body as Partial<Page> | undefined
  if (page === undefined || !Array.isArray(page.revoked) || typeof page.cursor !== 'string') {
    throw new Error('the revocations document is malformed')
  }
  return page as Page
}

/**
 * Keeps the set of revoked sessions current: one snapshot, then either one Server-Sent Events
 * stream resumed with Last-Event-ID after every drop, or a poll of `?since=<cursor>`. Tracks when
 * it last heard from the service, which is what the verifier's fail-closed policy judges.
 */
export class RevocationFeed {
  private cursor: string | undefined
  private etag: string | undefined
  private lastContact = -Infinity
  private closed = false
  private stream: AbortController | undefined
  private timer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined

  constructor (private readonly options: FeedOptions) {}

  /** Seconds since the feed last heard from the service (Infinity before it ever did). */
  staleness (): number { return (Date.now() - this.lastContact) / 1000 }

  /** Reads the snapshot, then keeps following in the background. */
  async start (): Promise<void> {
    do {
      await this.readPage()
    } while (this.lastPageSize >= FULL_PAGE)
    if (this.options.mode === 'stream') this.follow().catch(() => undefined)
    else this.schedulePoll()
  }

  close (): void {
    this.closed = true
    clearTimeout(this.timer)
    this.stream?.abort()
    this.wake?.()
  }

  private lastPageSize = 0

  private async readPage (): Promise<void> {
    const url = this.cursor === undefined ? this.options.snapshotUrl : withSince(this.options.snapshotUrl, this.cursor)
    const response = await getJson(url, this.etag === undefined ? {} : { 'if-none-match': this.etag })
    this.lastContact = Date.now()
    if (response.status === 304) { this.lastPageSize = 0; return }
    const page = parsePage(response.body)
    for (const { sid, revokedAt } of page.revoked) this.options.revoked.add(sid, revokedAt)
    this.cursor = page.cursor
    this.etag = response.headers.get('etag') ?? undefined
    this.lastPageSize = page.revoked.length
  }

  private schedulePoll (): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.readPage().catch(() => undefined).finally(() => { this.schedulePoll() })
    }, this.options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS)
    this.timer.unref()
  }

  /** The stream, reconnected after every end or failure, resuming after the last event seen. */
  private async follow (): Promise<void> {
    let failures = 0
    let retryMs = RECONNECT_MS
    while (!this.closed) {
      const parser = new SseParser((event) => {
        if (event.event !== 'revoked') return
        const { sid, revokedAt } = JSON.parse(event.data) as { sid: unknown, revokedAt: unknown }
        if (typeof sid === 'string' && typeof revokedAt === 'number') this.options.revoked.add(sid, revokedAt)
        if (event.id !== undefined) this.cursor = event.id
      })
      const healthy = await this.readStream(parser).catch(() => false)
      retryMs = parser.retryMs ?? retryMs
      failures = healthy ? 0 : failures + 1
      if (this.closed) return
      await this.sleep(Math.min(MAX_RECONNECT_MS, retryMs * 2 ** Math.max(0, failures - 1)))
    }
  }

  /** One connection: resolves true when the service accepted it (and later ended it), false otherwise. */
  private async readStream (parser: SseParser): Promise<boolean> {
    const controller = new AbortController()
    this.stream = controller
    let idle: NodeJS.Timeout | undefined
    const resetIdle = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { controller.abort() }, STREAM_IDLE_MS)
      idle.unref()
    }
    const connectTimeout = setTimeout(() => { controller.abort() }, REQUEST_TIMEOUT_MS)
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', 'cache-control': 'no-cache' }
      if (this.cursor !== undefined) headers['last-event-id'] = this.cursor
      const response = await fetch(this.options.streamUrl!, { headers, signal: controller.signal, redirect: 'error' })
      clearTimeout(connectTimeout)
      if (response.status !== 200 || !/^text\/event-stream/i.test(response.headers.get('content-type') ?? '')) {
        await response.body?.cancel()
        return false
      }
      resetIdle()
      const decoder = new TextDecoder()
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        // Any bytes (events, the heartbeat comments) prove the feed is alive.
        this.lastContact = Date.now()
        resetIdle()
        parser.push(decoder.decode(chunk, { stream: true }))
      }
      return true
    } finally {
      clearTimeout(connectTimeout)
      clearTimeout(idle)
      controller.abort()
    }
  }

  private async sleep (ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve
      this.timer = setTimeout(resolve, ms)
      this.timer.unref()
    })
    this.wake = undefined
  }
}

function withSince (url: string, cursor: string): string {
  const next = new URL(url)
  next.searchParams.set('since', cursor)
  return next.toString()
}
