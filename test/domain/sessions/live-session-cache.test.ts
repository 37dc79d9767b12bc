import t from 'tap'
import type { SessionRow } from '../../../src/db/database.js'
import { LiveSessionCache, type LiveSession } from '../../../src/domain/sessions/live-session-cache.js'

const liveSession = (id: string): LiveSession => ({
  session: { id } as SessionRow,
  user: { id: 'user-1', email: 'a@example.com', created_at: new Date(0) }
})

function cacheWithClock (ttlMs = 500, maxEntries = 100): { cache: LiveSessionCache, advance: (ms: number) => void } {
  let now = 1000
  return { cache: new LiveSessionCache(ttlMs, maxEntries, () => now), advance: (ms) => { now += ms } }
}

t.test('a live verdict is believed for the TTL, then read again', async (t) => {
  const { cache, advance } = cacheWithClock(500)
  cache.remember('s1', liveSession('s1'), cache.readStarted())
  t.equal(cache.get('s1')?.session.id, 's1', 'fresh: served from the cache')
  advance(499)
  t.ok(cache.get('s1'), 'still fresh 499 ms on')
  advance(1)
  t.equal(cache.get('s1'), undefined, 'expired at the TTL: the caller reads the database')
  t.equal(cache.size, 0, 'and the expired entry is dropped')
})

t.test('a revocation on this instance is seen at once, and a read in flight meanwhile is not stored', async (t) => {
  const { cache } = cacheWithClock()
  cache.remember('s1', liveSession('s1'), cache.readStarted())
  cache.remember('s2', liveSession('s2'), cache.readStarted())
  cache.forget(['s1'])
  t.equal(cache.get('s1'), undefined, 'the revoked session is forgotten')
  t.ok(cache.get('s2'), 'another session is kept')

  // A read that started before a revocation committed may have seen the session still live.
  const readStarted = cache.readStarted()
  cache.forget(['s3'])
  cache.remember('s3', liveSession('s3'), readStarted)
  t.equal(cache.get('s3'), undefined, 'its stale live verdict is not stored')
  cache.remember('s3', liveSession('s3'), cache.readStarted())
  t.ok(cache.get('s3'), 'a read started after the revocation is')
})

t.test('the cache holds at most maxEntries, dropping the entry stored longest ago', async (t) => {
  const { cache } = cacheWithClock(500, 3)
  for (const id of ['s1', 's2', 's3']) cache.remember(id, liveSession(id), cache.readStarted())
  cache.remember('s1', liveSession('s1'), cache.readStarted())
  cache.remember('s4', liveSession('s4'), cache.readStarted())
  t.equal(cache.size, 3, 'bounded')
  t.equal(cache.get('s2'), undefined, 's2, stored longest ago, is gone')
  t.ok(cache.get('s1') !== undefined && cache.get('s3') !== undefined && cache.get('s4') !== undefined,
    's1 (stored again), s3 and s4 remain')
})
