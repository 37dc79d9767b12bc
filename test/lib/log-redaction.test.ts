import Fastify, { type FastifyServerOptions } from 'fastify'
import t from 'tap'
import { loggerOptions } from '../../src/app.js'
import { REDACTED, redactSecrets } from '../../src/lib/log-redaction.js'

t.test('redactSecrets: secret-named keys are censored at any depth, in objects and arrays', async (t) => {
  const logged = {
    headers: { Authorization: 'Bearer eyJ.secret.sig', cookie: 'refresh_token=abc', accept: 'application/json' },
    body: { email: 'a@example.com', password: 'hunter22hunter22', nested: { refresh_token: 'rt-1' } },
    batch: [{ accessToken: 'at-1', kept: 1 }, 'plain string'],
    client_secret: 'cs-1',
    token: 'tok-1',
    code: 'invalid_grant'
  }
  const snapshot = structuredClone(logged)
  const redacted = redactSecrets(logged) as typeof logged
  t.same(redacted, {
    headers: { Authorization: REDACTED, cookie: REDACTED, accept: 'application/json' },
    body: { email: 'a@example.com', password: REDACTED, nested: { refresh_token: REDACTED } },
    batch: [{ accessToken: REDACTED, kept: 1 }, 'plain string'],
    client_secret: REDACTED,
    token: REDACTED,
    code: 'invalid_grant'
  })
  t.same(logged, snapshot, "the caller's object is left as it was")
  const clean = { kid: 'k1', alg: 'ES256', nested: { deleted: 3 } }
  t.equal(redactSecrets(clean), clean, 'an object with nothing to censor is passed through, not copied')
})

t.test('redactSecrets stops at a bounded depth, so a cyclic object cannot hang a log line', async (t) => {
  const cyclic: Record<string, unknown> = { name: 'loop' }
  cyclic.self = cyclic
  t.equal(redactSecrets(cyclic), cyclic)
})

t.test("the service's logger writes no secret, at any depth, and keeps the request id binding", async (t) => {
  const lines: string[] = []
  const options = loggerOptions('info') as Exclude<FastifyServerOptions['logger'], boolean | undefined>
  const app = Fastify({ logger: { ...options, stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(async () => { await app.close() })
  const logger = app.log.child({ reqId: 'req-1' })
  logger.info({ request: { body: { newPassword: 'very secret passphrase 1' } }, token: 'tok-2' }, 'logged')
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>
  t.equal(line.reqId, 'req-1', 'bindings are written as they are')
  t.same(line.request, { body: { newPassword: REDACTED } })
  t.equal(line.token, REDACTED)
  t.notOk(lines[0]?.includes('very secret'), 'the password appears nowhere in the line')
})
