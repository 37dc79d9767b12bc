import { performance } from 'node:perf_hooks'
import type { SessionRow } from '../../db/database.js'
import type { SessionUser } from './liveness.js'

/** A session read from the database as live, with its user (undefined if the user is gone). */
export interface LiveSession { session: SessionRow, user: SessionUser | undefined }

/**
 * How long a session read as live is believed without reading it again. This bounds how late
 * another instance's revocation reaches this one's access-token routes: well within a second.
 */
export const LIVE_SESSION_TTL_MS = 500

/** Enough for every session active within the lifetime; a few MiB at most. */
export const LIVE_SESSION_MAX_ENTRIES = 10_000

interface Entry { live: LiveSession, until: number }

/**
 * Sessions this instance recently read as live, so that a client sending its access token again
 * and again (`/auth/me`, the session list) costs no database round trip each time.
 *
 * Only a live verdict is remembered, and only the facts that can change against it matter:
 * - this instance's own revocations reach it at once: the session rules call `forget` after their
 *   transaction commits, and a read that was in flight meanwhile is not stored (`readStarted`);
 * - another instance's revocation is seen when the entry expires, at most `LIVE_SESSION_TTL_MS` on;
 * - absolute and idle expiry are judged again on every use by the caller, against the entry's row
 *   (whose `last_used_at` only ever moves forward in the database, so the cached one errs toward
 *   an earlier end, and an end it sees is confirmed by a fresh read).
 *
 * Expiry is on the monotonic clock, not the rules' clock: it is about freshness of a copy, not
 * about session time.
 */
export class LiveSessionCache {
  private readonly entries = new Map<string, Entry>()
  private generation = 0

  constructor (
    private readonly ttlMs = LIVE_SESSION_TTL_MS,
    private readonly maxEntries = LIVE_SESSION_MAX_ENTRIES,
    private readonly now: () => number = () => performance.now()
  ) {}

  get size (): number { return this.entries.size }

  /** The session, if read as live within the TTL and not revoked here since. */
  get (sessionId: string): LiveSession | undefined {
    const entry = this.entries.get(sessionId)
    if (entry === undefined) return undefined
    if (entry.until > this.now()) return entry.live
    this.entries.delete(sessionId)
    return undefined
  }

  /** Taken before a database read; `remember` stores its result only if nothing was revoked since. */
  readStarted (): number { return this.generation }

  remember (sessionId: string, live: LiveSession, readStartedAt: number): void {
    if (readStartedAt !== this.generation) return
    this.entries.delete(sessionId)
    // A Map iterates in insertion order: the first key is the entry stored longest ago.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(sessionId, { live, until: this.now() + this.ttlMs })
  }

  /** Sessions this instance just revoked: their next use reads the database (and finds them gone). */
  forget (sessionIds: readonly string[]): void {
    this.generation++
    for (const id of sessionIds) this.entries.delete(id)
  }
}
