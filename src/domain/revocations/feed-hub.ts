import type { Kysely } from 'kysely'
import type { Database } from '../../db/database.js'
import { readRevocations, type RevocationBatch, type RevocationRecord } from '../../db/repositories/revocations.js'
import type { Clock } from '../../lib/clock.js'
import { comparePositions, type FeedPosition } from './cursor.js'

/** Where one stream's events go (an HTTP response body). */
export interface FeedSink {
  write: (record: RevocationRecord) => void
  heartbeat: () => void
  /** Bytes written but not yet taken by the client: a stream that stops reading is dropped. */
  backlog: () => number
  end: () => void
}

export interface FeedHubOptions {
  db: Kysely<Database>
  clock: Clock
  /** Records older than this are of no use: no unexpired access token of their session is left. */
  windowSeconds: number
  pollIntervalMs: number
  heartbeatMs: number
  /** After this long without a successful read, streams are ended so clients notice and reconnect. */
  staleAfterMs: number
  onFanOut?: (record: RevocationRecord, lagSeconds: number) => void
  onClients?: (count: number) => void
  onError?: (error: unknown) => void
}

interface Client {
  sink: FeedSink
  position: FeedPosition
  /** Records fanned out while the client was still catching up; undefined once it is live. */
  pending: RevocationRecord[] | undefined
}

const BATCH = 1000
const MAX_BACKLOG_BYTES = 1 << 20
// A notBefore that excludes every record, for reads that want only the boundary.
const FAR_FUTURE = new Date('9999-12-31T00:00:00Z')

/**
 * One poller per instance, fanning out to every stream of the instance: a thousand streams cost one
 * indexed query per poll interval, not a thousand. Each stream catches up from its own cursor with
 * one read when it connects, then takes the shared poller's records that lie beyond its position.
 */
export class FeedHub {
  private readonly clients = new Set<Client>()
  private position: FeedPosition | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private polling = false
  private closed = false
  private lastSuccess = 0

  constructor (private readonly options: FeedHubOptions) {}

  get clientCount (): number { return this.clients.size }

  /** The records after `since` still within the window, at most `limit`: what GET /revocations lists. */
  async snapshot (since: FeedPosition, limit: number): Promise<RevocationBatch> {
    return await readRevocations(this.options.db, since, this.windowStart(), limit)
  }

  /** Where the poller is (undefined before it first read); for metrics and tests. */
  get currentPosition (): FeedPosition | undefined { return this.position }

  /**
   * Attach a stream that has seen everything up to `from` (or, without it, starts now). Resolves once
   * it has caught up; rejects (and attaches nothing) when the database cannot be read.
   */
  async subscribe (sink: FeedSink, from: FeedPosition | undefined): Promise<() => void> {
    if (this.closed) throw new Error('the revocation feed is closed')
    const client: Client = { sink, position: from ?? { tx: 0n, seq: 0n }, pending: [] }
    this.clients.add(client)
    this.start()
    try {
      await this.catchUp(client, from === undefined)
    } catch (error) {
      this.clients.delete(client)
      throw error
    }
    this.options.onClients?.(this.clients.size)
    return () => { this.detach(client) }
  }

  /** Make sure the shared poller runs (it starts with the first stream, or the first metrics scrape). */
  start (): void {
    if (this.closed || this.pollTimer !== undefined) return
    this.lastSuccess = Date.now()
    this.pollTimer = setInterval(() => { this.poll().catch(() => undefined) }, this.options.pollIntervalMs)
    this.heartbeatTimer = setInterval(() => { this.beat() }, this.options.heartbeatMs)
    this.pollTimer.unref()
    this.heartbeatTimer.unref()
  }

  /** Stop polling and end every stream (on shutdown: open streams would hold the server open). */
  close (): void {
    this.closed = true
    clearInterval(this.pollTimer)
    clearInterval(this.heartbeatTimer)
    for (const client of [...this.clients]) this.detach(client)
  }

  private async catchUp (client: Client, fromNow: boolean): Promise<void> {
    const notBefore = this.windowStart()
    for (;;) {
      // "From now" needs only the boundary: no records, but where the next one will appear.
      const batch = await readRevocations(this.options.db, client.position, fromNow ? FAR_FUTURE : notBefore, BATCH)
      if (!this.clients.has(client)) return
      for (const record of batch.records) this.deliver(client, record)
      // Not beyond the boundary even for a cursor from elsewhere that claims more: nothing is skipped.
      client.position = batch.next
      if (batch.records.length === BATCH) continue
      // The poller's first position comes from the first stream; a stream that caught up to a point
      // before where the poller already is reads again, so nothing between the two is lost.
      if (this.position === undefined) this.position = client.position
      if (comparePositions(client.position, this.position) >= 0) break
    }
    const pending = client.pending ?? []
    client.pending = undefined
    for (const record of pending) this.offer(client, record)
  }

  private async poll (): Promise<void> {
    if (this.polling || this.closed) return
    this.polling = true
    try {
      if (this.position === undefined) {
        // Started by a scrape, not a stream: begin at the boundary (unless a stream set it meanwhile).
        const first = await readRevocations(this.options.db, { tx: 0n, seq: 0n }, FAR_FUTURE, 1)
        this.position ??= first.next
      }
      let batch
      do {
        batch = await readRevocations(this.options.db, this.position, this.windowStart(), BATCH)
        if (this.closed) return
        this.position = batch.next
        const now = this.options.clock.now().getTime()
        for (const record of batch.records) {
          this.options.onFanOut?.(record, Math.max(0, (now - record.revokedAt.getTime()) / 1000))
          for (const client of this.clients) this.offer(client, record)
        }
      } while (batch.records.length === BATCH)
      this.lastSuccess = Date.now()
    } catch (error) {
      if (this.closed) return
      this.options.onError?.(error)
      // A stream that still gets heartbeats looks healthy to its client: end them, so the client
      // reconnects, sees the failure, and applies its own staleness policy.
      if (Date.now() - this.lastSuccess > this.options.staleAfterMs) {
        for (const client of [...this.clients]) this.detach(client)
      }
    } finally {
      this.polling = false
    }
  }

  private offer (client: Client, record: RevocationRecord): void {
    if (client.pending !== undefined) {
      client.pending.push(record)
      return
    }
    if (comparePositions(record.position, client.position) <= 0) return
    this.deliver(client, record)
  }

  private deliver (client: Client, record: RevocationRecord): void {
    client.sink.write(record)
    client.position = record.position
    if (client.sink.backlog() > MAX_BACKLOG_BYTES) this.detach(client)
  }

  private beat (): void {
    for (const client of this.clients) if (client.pending === undefined) client.sink.heartbeat()
  }

  private detach (client: Client): void {
    if (!this.clients.delete(client)) return
    client.sink.end()
    this.options.onClients?.(this.clients.size)
  }

  private windowStart (): Date {
    return new Date(this.options.clock.now().getTime() - this.options.windowSeconds * 1000)
  }
}
