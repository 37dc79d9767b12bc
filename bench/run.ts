import { PGlite } from '@electric-sql/pglite'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { connectDatabase, wrapPGlite, type DatabaseHandle } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrator.js'

/**
 * `npm run bench`: throughput and latency of the hot paths against a listening server on
 * 127.0.0.1 (real HTTP, real database: BENCH_DATABASE_URL or an in-memory PGlite), plus memory.
 * Bounded by request count and time; prints one JSON line per scenario.
 */
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)

async function openDatabase (): Promise<DatabaseHandle> {
  const url = process.env.BENCH_DATABASE_URL
  if (url !== undefined && url !== '') {
    const handle = await connectDatabase({ ...loadConfig({}), DATABASE_URL: url }, () => {})
    await migrateToLatest(handle.db)
    return handle
  }
  const pglite = await PGlite.create()
  const handle = wrapPGlite(pglite, async () => { await pglite.close() })
  await migrateToLatest(handle.db)
  return handle
}

interface Result { scenario: string, requests: number, errors: number, perSecond: number, p50ms: number, p99ms: number }

async function measure (scenario: string, request: () => Promise<Response>): Promise<Result> {
  const latencies: number[] = []
  let errors = 0
  const end = Date.now() + DURATION_MS
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const started = performance.now()
      const response = await request()
      await response.arrayBuffer()
      latencies.push(performance.now() - started)
      if (!response.ok && response.status !== 304) errors++
    }
  }))
  latencies.sort((a, b) => a - b)
  const at = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0) * 100) / 100
  return { scenario, requests: latencies.length, errors, perSecond: Math.round(latencies.length / (DURATION_MS / 1000)), p50ms: at(0.5), p99ms: at(0.99) }
}

const database = await openDatabase()
const config = loadConfig({ LOG_LEVEL: 'silent', RATE_LIMIT_ENABLED: 'false', KEY_ENCRYPTION_SECRET: 'benchmark-only-secret-0000000000000000', MIGRATE_ON_START: 'false', PASSWORD_HASH_QUEUE: '1000' })
const app = await buildApp({ config, database, logger: false })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

const email = `bench-${Date.now()}@example.com`
const password = 'benchmark passphrase 12345'
await fetch(`${address}/auth/register`, json({ email, password }))
const login = await (await fetch(`${address}/auth/login`, json({ email, password, delivery: 'body' }))).json() as { accessToken: string }

// Each worker keeps its own session so that refreshes rotate (no reuse, no grace).
const sessions = await Promise.all(Array.from({ length: CONCURRENCY }, async () =>
  (await (await fetch(`${address}/auth/login`, json({ email, password, delivery: 'body' }))).json() as { refreshToken: string }).refreshToken))
let next = 0

const results: Result[] = []
results.push(await measure('GET /.well-known/jwks.json', async () => await fetch(`${address}/.well-known/jwks.json`)))
results.push(await measure('GET /auth/me (verify + session check)', async () => await fetch(`${address}/auth/me`, { headers: { authorization: `Bearer ${login.accessToken}` } })))
results.push(await measure('POST /auth/refresh (rotation)', async () => {
  const slot = next++ % sessions.length
  const response = await fetch(`${address}/auth/refresh`, json({ refreshToken: sessions[slot] }))
  if (response.ok) {
    const body = await response.clone().json() as { refreshToken: string }
    sessions[slot] = body.refreshToken
  }
  return response
}))
results.push(await measure('POST /auth/login (argon2id)', async () => await fetch(`${address}/auth/login`, json({ email, password, delivery: 'body' }))))

for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`)
const memory = process.memoryUsage()
process.stdout.write(`${JSON.stringify({ scenario: 'memory after run', rssMiB: Math.round(memory.rss / 1048576), heapUsedMiB: Math.round(memory.heapUsed / 1048576) })}\n`)
await app.close()
await database.close()
