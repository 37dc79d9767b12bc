import t from 'tap'
import { kit, logout, newSession, outcome, startService, within } from './verifier-helpers.js'

/*
 * The kit's revocation feed against the real service: a revoked session's tokens are refused with
 * token_revoked (stream and poll), an unreachable feed fails closed after maxStalenessSeconds (or
 * stays open by choice), and the kit heals by itself, missing nothing revoked while it was away.
 */

const REVOKED_WITHIN_MS = 2_000

const service = await startService(t)
const { issuer } = service

for (const mode of ['stream', 'poll'] as const) {
  t.test(`${mode}: a revoked session's token is token_revoked within 2 s; others keep verifying`, async (t) => {
    const verifier = await kit(t, service, { revocations: mode })
    const kept = await newSession(issuer)
    const gone = await newSession(issuer)
    t.equal(await outcome(verifier, gone.accessToken), 'ok', 'valid before the logout')
    await logout(issuer, gone)
    const ms = await within(REVOKED_WITHIN_MS, 'token_revoked',
      async () => await outcome(verifier, gone.accessToken) === 'token_revoked')
    t.pass(`refused ${ms} ms after the logout returned`)
    t.equal(await outcome(verifier, kept.accessToken), 'ok', 'another session still verifies')
    const before = service.requestCount()
    for (let i = 0; i < 100; i++) await verifier.verify(kept.accessToken)
    await t.rejects(verifier.verify(gone.accessToken), { code: 'token_revoked' })
    const extra = service.requestCount() - before
    t.ok(extra <= (mode === 'poll' ? 2 : 0), `verifying sent nothing (${extra} feed polls meanwhile)`)
  })
}

t.test('a session revoked before the verifier starts is in its snapshot', async (t) => {
  const gone = await newSession(issuer)
  await logout(issuer, gone)
  const verifier = await kit(t, service)
  t.equal(await outcome(verifier, gone.accessToken), 'token_revoked', 'refused right after ready()')
})

t.test('the feed unreachable: closed fails after maxStalenessSeconds, open goes on, both heal', async (t) => {
  const own = await startService(t)
  const closed = await kit(t, own, { maxStalenessSeconds: 2 })
  const open = await kit(t, own, { maxStalenessSeconds: 2, failMode: 'open' })
  const polling = await kit(t, own, { maxStalenessSeconds: 2, revocations: 'poll' })
  const session = await newSession(own.issuer)
  const revokedEarlier = await newSession(own.issuer)
  await logout(own.issuer, revokedEarlier)
  await within(REVOKED_WITHIN_MS, 'revocation seen',
    async () => await outcome(closed, revokedEarlier.accessToken) === 'token_revoked')

  await own.stop()
  const stoppedAt = Date.now()
  t.equal(await outcome(closed, session.accessToken), 'ok',
    'right after the outage starts, the last known state is still good')
  await within(5_000, 'verifier_unavailable',
    async () => await outcome(closed, session.accessToken) === 'verifier_unavailable')
  // The last heartbeat came at most 1 s before the stop: unavailable no sooner than 2 s after it.
  const into = Date.now() - stoppedAt
  t.ok(into >= 900, `fail closed only after maxStalenessSeconds (${into} ms into the outage)`)
  t.ok(closed.staleness() > 2, `staleness says so (${closed.staleness()} s)`)
  t.equal(await outcome(polling, session.accessToken), 'verifier_unavailable', 'poll mode fails closed too')
  t.equal(await outcome(open, session.accessToken), 'ok', 'fail open goes on verifying')
  t.equal(await outcome(open, revokedEarlier.accessToken), 'token_revoked', 'from the last known state')
  t.equal(await outcome(closed, revokedEarlier.accessToken), 'token_revoked', 'a known revocation stays token_revoked')
  t.equal(await outcome(closed, 'a.b.c'), 'invalid_token', 'and garbage stays invalid_token')

  await own.restart()
  // Revoked right after the restart, possibly before the kits reconnect: resuming with
  // Last-Event-ID must not miss it.
  await logout(own.issuer, session)
  for (const [name, verifier] of [['closed', closed], ['open', open], ['poll', polling]] as const) {
    const healed = await within(8_000, `${name} heals`,
      async () => await outcome(verifier, session.accessToken) === 'token_revoked')
    t.pass(`${name}: reconnected by itself and saw the revocation made while it was away (${healed} ms)`)
  }
  const fresh = await newSession(own.issuer)
  t.equal(await outcome(closed, fresh.accessToken), 'ok', 'fail closed verifies again')
  t.ok(closed.staleness() < 2, 'and is fresh')
})

t.test('revocations: off never consults a feed', async (t) => {
  const verifier = await kit(t, service, { revocations: 'off' })
  const gone = await newSession(issuer)
  await logout(issuer, gone)
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(await outcome(verifier, gone.accessToken), 'ok', 'a revoked session verifies (signature and claims only)')
  t.equal(verifier.staleness(), 0)
})
