import t from 'tap'
import type { KyselyPlugin } from 'kysely'
import { buildTestApp, openTestDatabase, postJson, assertProblem } from '../helper.js'
import { FeedHub, type FeedSink } from '../../src/domain/revocations/feed-hub.js'
import { systemClock } from '../../src/lib/clock.js'
import { listen, openStream } from './sse-client.js'
import { createTestClock } from '../support/test-clock.js'
import { bearer, loginForTokens, registerUser } from '../support/auth-steps.js'

/*
 * The revocation feed over real HTTP: the snapshot (GET /revocations) with its cursor, ETag and
 * caching, and the Server-Sent Events stream with resume, heartbeats, one poller per instance and
 * a clean end on shutdown.
 */

const database = await openTestDatabase(t)
const app = await buildTestApp(t, { REVOCATIONS_HEARTBEAT_SECONDS: 1, REVOCATIONS_POLL_INTERVAL_MS: 100 }, { database })
const base = await listen(app)

async function revokedSession (): Promise<string> {
  const session = await loginForTokens(app, await registerUser(app))
  const response = await postJson(app, '/auth/logout', { refreshToken: session.refreshToken })
  if (response.statusCode !== 204) throw new Error(`logout failed: ${response.statusCode}`)
  return session.sessionId
}

async function snapshot (query = ''): Promise<{ revoked: Array<{ sid: string, revokedAt: number }>, cursor: string }> {
  const response = await app.inject(`/revocations${query}`)
  if (response.statusCode !== 200) throw new Error(`snapshot failed: ${response.statusCode} ${response.body}`)
  return response.json()
}

t.test('discovery lists the snapshot and the stream', async (t) => {
  const metadata = (await app.inject('/.well-known/openid-configuration')).json()
  t.equal(metadata.revocations_endpoint, `${metadata.issuer}/revocations`)
  t.equal(metadata.revocations_stream_endpoint, `${metadata.issuer}/revocations/stream`)
})

t.test('GET /revocations', async (t) => {
  t.test('lists revoked sessions oldest first, and `since` returns only later ones', async (t) => {
    const before = (await snapshot()).cursor
    const first = await revokedSession()
    const second = await revokedSession()
    const all = await snapshot()
    const sids = all.revoked.map((entry) => entry.sid)
    t.ok(sids.indexOf(first) >= 0 && sids.indexOf(first) < sids.indexOf(second), 'both, oldest first')
    const entry = all.revoked.find((r) => r.sid === first)!
    t.ok(Math.abs(entry.revokedAt - Date.now() / 1000) < 10, 'revokedAt in epoch seconds')
    t.same((await snapshot(`?since=${before}`)).revoked.map((r) => r.sid), [first, second],
      'since: exactly what came after')
    t.same((await snapshot(`?since=${all.cursor}`)).revoked, [], 'nothing after the latest cursor')
    const third = await revokedSession()
    t.same((await snapshot(`?since=${all.cursor}`)).revoked.map((r) => r.sid), [third])
  })

  t.test('ETag and 304; short public caching', async (t) => {
    const response = await app.inject('/revocations')
    const maxAge = Number(/public, max-age=(\d+)/.exec(String(response.headers['cache-control']))?.[1])
    t.ok(maxAge >= 0 && maxAge <= 5, `public, max-age ${maxAge} <= 5`)
    const etag = String(response.headers.etag)
    const again = await app.inject({ url: '/revocations', headers: { 'if-none-match': etag } })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '')
    await revokedSession()
    const changed = await app.inject({ url: '/revocations', headers: { 'if-none-match': etag } })
    t.equal(changed.statusCode, 200, 'a new revocation changes the ETag')
    t.not(changed.headers.etag, etag)
  })

  t.test('records older than the access-token lifetime + 60 s are left out', async (t) => {
    const clock = createTestClock()
    const later = await buildTestApp(t, { ACCESS_TOKEN_TTL: 900 }, { database, clock })
    const session = await loginForTokens(later, await registerUser(later))
    const logout = await postJson(later, '/auth/logout', { refreshToken: session.refreshToken })
    t.equal(logout.statusCode, 204)
    const listed = async (): Promise<boolean> =>
      (await later.inject('/revocations')).json().revoked.some((r: { sid: string }) => r.sid === session.sessionId)
    clock.advance(900 + 59)
    t.ok(await listed(), 'listed while an access token of the session may still be live')
    clock.advance(2)
    t.notOk(await listed(), 'left out once every access token of the session has expired')
  })

  t.test('a malformed cursor is 400 validation_failed', async (t) => {
    for (const since of ['abc', '1.2.3', '-1.0', `${'9'.repeat(21)}.0`, '18446744073709551616.0']) {
      assertProblem(t, await app.inject(`/revocations?since=${encodeURIComponent(since)}`), 400, 'validation_failed')
    }
  })
})

t.test('GET /revocations/stream', async (t) => {
  t.test('a revocation arrives as an event within a second, with a resumable id', async (t) => {
    const stream = await openStream(base)
    t.teardown(stream.close)
    t.equal(stream.status, 200)
    t.match(stream.headers['content-type'], /^text\/event-stream/)
    t.equal(stream.headers['x-accel-buffering'], 'no')
    const session = await loginForTokens(app, await registerUser(app))
    const started = Date.now()
    const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(session.accessToken) })
    t.equal(logout.statusCode, 204)
    await stream.waitFor((events) => events.some((e) => e.sid === session.sessionId), 1000, 'the event')
    const event = stream.events.find((e) => e.sid === session.sessionId)!
    t.ok(event.receivedAt - started < 1000, `received after ${event.receivedAt - started} ms`)
    t.match(event.id, /^\d+\.\d+$/)
    t.ok(Math.abs(event.revokedAt - Date.now() / 1000) < 10)
  })

  t.test('starts from now: earlier revocations are not replayed without a cursor', async (t) => {
    const earlier = await revokedSession()
    const stream = await openStream(base)
    t.teardown(stream.close)
    const later = await revokedSession()
    await stream.waitFor((events) => events.some((e) => e.sid === later), 1000, 'the later event')
    t.notOk(stream.events.some((e) => e.sid === earlier))
  })

  t.test('sends a comment line when idle (heartbeat)', async (t) => {
    const stream = await openStream(base)
    t.teardown(stream.close)
    const start = stream.comments.length
    await new Promise((resolve) => setTimeout(resolve, 2500))
    t.ok(stream.comments.length - start >= 1, `${stream.comments.length - start} heartbeats in 2.5 s at 1 s`)
  })

  t.test('resuming with Last-Event-ID or ?since= misses nothing revoked meanwhile, and repeats nothing', async (t) => {
    const stream = await openStream(base)
    const first = await revokedSession()
    await stream.waitFor((events) => events.some((e) => e.sid === first), 1000, 'first event')
    const lastId = stream.events.at(-1)!.id
    stream.close()
    const missed = [await revokedSession(), await revokedSession(), await revokedSession()]
    for (const resume of [{ headers: { 'last-event-id': lastId } }, { path: `/revocations/stream?since=${lastId}` }]) {
      const again = await openStream(base, resume.path, resume.headers)
      await again.waitFor((events) => missed.every((sid) => events.some((e) => e.sid === sid)), 1000,
        'the missed events')
      t.same(again.events.map((e) => e.sid), missed, 'exactly the missed ones, in order')
      again.close()
    }
  })

  t.test('a malformed Last-Event-ID is 400', async (t) => {
    const stream = await openStream(base, '/revocations/stream', { 'last-event-id': 'nonsense' })
    t.equal(stream.status, 400)
    await stream.ended
    t.match(JSON.parse(stream.body()), { code: 'validation_failed' })
  })

  t.test('metrics: stream clients, revocations by reason, feed lag', async (t) => {
    const stream = await openStream(base)
    t.teardown(stream.close)
    const sid = await revokedSession()
    await stream.waitFor((events) => events.some((e) => e.sid === sid), 1000, 'the event')
    const text = (await app.inject('/metrics')).body
    t.match(text, /revocation_stream_clients [1-9]/)
    t.match(text, /revocations_recorded_total\{reason="logout"\} [1-9]/)
    t.match(text, /revocation_feed_lag_seconds_count [1-9]/)
  })
})

t.test('one poller serves every stream: 50 streams do not mean 50 queries per poll', async (t) => {
  let queries = 0
  const counting: KyselyPlugin = {
    transformQuery: (args) => { queries++; return args.node },
    transformResult: async (args) => args.result
  }
  const hub = new FeedHub({
    db: database.db.withPlugin(counting),
    clock: systemClock,
    windowSeconds: 960,
    pollIntervalMs: 100,
    heartbeatMs: 10_000,
    staleAfterMs: 5000
  })
  t.teardown(() => { hub.close() })
  const received = Array.from({ length: 50 }, () => new Set<string>())
  const sinks: FeedSink[] = received.map((set) => ({
    write: (record) => { set.add(record.sessionId) },
    heartbeat: () => {},
    backlog: () => 0,
    end: () => {}
  }))
  for (const sink of sinks) await hub.subscribe(sink, undefined)
  const afterConnect = queries
  const sid = await revokedSession()
  const deadline = Date.now() + 2000
  while (!received.every((set) => set.has(sid)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(received.every((set) => set.has(sid)), 'every stream got the revocation')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const polled = queries - afterConnect
  t.ok(polled < 40, `${polled} queries while 50 streams were open for about 1.5 s at a 100 ms interval`)
  t.equal(hub.clientCount, 50)
})

t.test('app.close() ends open streams promptly', async (t) => {
  const other = await buildTestApp(t, {}, { database })
  const otherBase = await listen(other)
  const streams = await Promise.all(Array.from({ length: 5 }, async () => await openStream(otherBase)))
  const started = Date.now()
  await other.close()
  await Promise.all(streams.map(async (stream) => await stream.ended))
  t.ok(Date.now() - started < 3000, `closed in ${Date.now() - started} ms`)
  t.equal(other.revocationFeed.clientCount, 0)
})
