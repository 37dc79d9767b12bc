import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueEmail } from '../helper.js'
import { freePort } from '../support/free-port.js'

/*
 * With REDIS_URL set, per-IP limits are shared through Redis. When Redis is unreachable they are
 * not skipped: each instance counts in process (a 429 after the limit still comes), the
 * `rate_limit_store_degraded` gauge reads 1 and /health/ready (still 200) says
 * `rateLimitStore: "memory-fallback"`; once Redis is back, counters are shared again by themselves.
 */

const LIMIT = 3
const database = await openTestDatabase(t)
const limits = { RATE_LIMIT_ENABLED: true, RATE_LIMIT_LOGIN_MAX: LIMIT }

/** LIMIT wrong-password logins from `ip` spread over `apps` (round robin), then one more on the first. */
async function loginStatuses (apps: FastifyInstance[], ip: string, count = LIMIT + 1): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < count; i++) {
    const app = apps[i % apps.length]!
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail('limited'), password: 'not the password at all' },
      remoteAddress: ip
    })
    statuses.push(response.statusCode)
  }
  return statuses
}

const readiness = async (app: FastifyInstance): Promise<{ statusCode: number, body: unknown }> => {
  const response = await app.inject('/health/ready')
  return { statusCode: response.statusCode, body: response.json() }
}

async function degradedGauge (app: FastifyInstance): Promise<number | undefined> {
  const text = (await app.inject('/metrics')).body
  const line = text.split('\n').find((l) => l.startsWith('rate_limit_store_degraded '))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

async function eventually (check: () => Promise<boolean> | boolean, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return await check()
}

t.test('Redis unreachable from the start: limits still bite, counted in process, and the state is ' +
  'visible', async (t) => {
  // Port 1: nothing listens, every connection attempt is refused.
  const app = await buildTestApp(t, { ...limits, REDIS_URL: 'redis://127.0.0.1:1' }, { database })
  const statuses = await loginStatuses([app], '198.51.100.10')
  t.same(statuses, [401, 401, 401, 429], `a 429 after ${LIMIT} attempts (got ${statuses.join(', ')})`)
  t.not((await loginStatuses([app], '198.51.100.11', 1))[0], 429, 'another address has its own counter')

  t.same(await readiness(app), { statusCode: 200, body: { status: 'ok', rateLimitStore: 'memory-fallback' } },
    '/health/ready stays 200 and names the fallback')
  t.equal(await degradedGauge(app), 1, 'rate_limit_store_degraded 1')
})

t.test('without REDIS_URL the in-process store is the design, not a degradation', async (t) => {
  const app = await buildTestApp(t, limits, { database })
  t.same(await readiness(app), { statusCode: 200, body: { status: 'ok', rateLimitStore: 'memory' } })
  t.equal(await degradedGauge(app), 0)
  const off = await buildTestApp(t, {}, { database })
  t.same((await readiness(off)).body, { status: 'ok', rateLimitStore: 'disabled' }, 'RATE_LIMIT_ENABLED=false says so')
})

const haveRedisServer = spawnSync('redis-server', ['--version']).status === 0

const needsRedisServer = { skip: haveRedisServer ? false : 'redis-server is not installed' }
t.test('Redis goes away and comes back: fallback, then shared counters again', needsRedisServer, async (t) => {
  const port = await freePort()
  let server = await startRedis(port)
  t.teardown(() => { server.kill('SIGKILL') })
  const url = `redis://127.0.0.1:${port}`
  const a = await buildTestApp(t, { ...limits, REDIS_URL: url }, { database })
  const b = await buildTestApp(t, { ...limits, REDIS_URL: url }, { database })

  t.same((await readiness(a)).body, { status: 'ok', rateLimitStore: 'redis' })
  t.equal(await degradedGauge(a), 0)
  t.same(await loginStatuses([a, b], '203.0.113.1'), [401, 401, 401, 429], 'two instances share one counter')

  server.kill('SIGKILL')
  await new Promise((resolve) => server.once('exit', resolve))
  t.ok(await eventually(() => a.rateLimitStore.mode() === 'memory-fallback', 5000), 'the outage is noticed')
  t.same(await loginStatuses([a], '203.0.113.2'), [401, 401, 401, 429], 'during the outage the limit still bites')
  t.same(await readiness(a), { statusCode: 200, body: { status: 'ok', rateLimitStore: 'memory-fallback' } })
  t.equal(await degradedGauge(a), 1)

  server = await startRedis(port)
  t.ok(await eventually(async () => a.rateLimitStore.mode() === 'redis' && b.rateLimitStore.mode() === 'redis', 8000),
    'both instances reconnect by themselves')
  t.same((await readiness(a)).body, { status: 'ok', rateLimitStore: 'redis' })
  t.equal(await degradedGauge(a), 0, 'the gauge is back to 0')
  t.same(await loginStatuses([a, b], '203.0.113.3'), [401, 401, 401, 429], 'counters are shared again')
})

/** A throwaway redis-server (no persistence) on `port`, once it accepts connections. */
async function startRedis (port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const child = spawn('redis-server', args, { stdio: 'ignore' })
  const accepting = await eventually(async () => await new Promise<boolean>((resolve) => {
    const socket = new Socket()
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { socket.destroy(); resolve(false) })
    socket.connect(port, '127.0.0.1')
  }), 5000)
  if (!accepting) throw new Error(`redis-server did not start on port ${port}`)
  return child
}
