import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { connectDatabase, wrapPGlite, type DatabaseHandle } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrator.js'
import { argon2Ceiling, rotationCeiling, type CeilingResult } from './ceilings.js'
import { measureFeedLag } from './feed-lag.js'
import { runLoad, type LoadResult } from './load.js'
import { imageCommand, startBareServer, startService } from './processes.js'
import { markdownTable, ratio, writeBenchmarksDoc, type Row } from './report.js'

/**
 * `npm run bench`: the service in its own process (the built server, NODE_ENV=production on
 * PostgreSQL), loaded by autocannon from this one, against ceilings measured in the same run.
 * BENCH_DATABASE_URL names a PostgreSQL server (a scratch database is created and dropped);
 * without it the service runs on embedded PGlite and the table says so.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '16,64').split(',').map(Number)
const ONLY = process.env.BENCH_ONLY?.split(',')
const wanted = (name: string): boolean => ONLY === undefined || ONLY.includes(name)
// Service settings a run may vary (each is printed with the table).
const PASSED_THROUGH = [
  'DB_POOL_MAX', 'DB_STATEMENT_TIMEOUT_MS', 'JWT_ALG', 'PASSWORD_HASH_CONCURRENCY', 'REVOCATIONS_POLL_INTERVAL_MS'
]
const PASSWORD = 'benchmark passphrase 12345'
const FEED_STREAMS = 200

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    })
  })
}

interface Scratch {
  serviceEnv: Record<string, string>
  label: string
  version: string
  open: (poolMax: number) => Promise<DatabaseHandle>
  drop: () => Promise<void>
}

async function scratchDatabase (): Promise<Scratch> {
  const admin = process.env.BENCH_DATABASE_URL
  if (admin === undefined || admin === '') {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'token-bench-'))
    return {
      // NODE_ENV=production requires DATABASE_URL: on PGlite the service runs in development mode.
      serviceEnv: { NODE_ENV: 'development', DATA_DIR: dataDir },
      label: 'embedded PGlite (NODE_ENV=development); the rotation ceiling on a second, in-memory PGlite',
      version: 'PGlite',
      open: async () => {
        const client = await PGlite.create()
        const handle = wrapPGlite(client, async () => { await client.close() })
        await migrateToLatest(handle.db)
        return handle
      },
      drop: async () => { rmSync(dataDir, { recursive: true, force: true }) }
    }
  }
  const name = `token_bench_${process.pid}_${Date.now()}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  await client.query(`CREATE DATABASE ${name}`)
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
  const url = new URL(admin)
  url.pathname = `/${name}`
  return {
    serviceEnv: { NODE_ENV: 'production', DATABASE_URL: url.toString() },
    label: `PostgreSQL ${version} (scratch database, dropped afterwards)`,
    version: `PostgreSQL ${version}`,
    open: async (poolMax) => await connectDatabase({
      DATABASE_URL: url.toString(),
      DATA_DIR: '',
      DB_POOL_MAX: poolMax,
      DB_CONNECTION_TIMEOUT_MS: 10_000,
      DB_STATEMENT_TIMEOUT_MS: 10_000
    }, () => {}),
    drop: async () => {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    }
  }
}

interface Tokens { accessToken: string, refreshToken: string, sessionId: string }

async function post (url: string, body: unknown): Promise<Response> {
  const headers = { 'content-type': 'application/json' }
  return await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
}

async function login (base: string, email: string): Promise<Tokens> {
  let response = await post(`${base}/auth/login`, { email, password: PASSWORD, delivery: 'body' })
  // The hasher's queue may still hold the tail of the login scenario: wait for it, as a client would.
  for (let attempt = 0; response.status === 503 && attempt < 30; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    response = await post(`${base}/auth/login`, { email, password: PASSWORD, delivery: 'body' })
  }
  if (!response.ok) throw new Error(`login failed: ${response.status} ${await response.text()}`)
  return await response.json() as Tokens
}

/** Polls the service's pool gauge while a scenario runs: the most callers seen waiting for a connection. */
function samplePoolWait (base: string): () => number {
  let most = 0
  const timer = setInterval(() => {
    fetch(`${base}/metrics`).then(async (response) => {
      const match = /^db_pool_connections\{state="waiting"\} (\d+)/m.exec(await response.text())
      if (match !== null) most = Math.max(most, Number(match[1]))
    }, () => {})
  }, 250)
  return () => { clearInterval(timer); return most }
}

/** A refresh scenario: fresh sessions (one per connection), each connection walking its own chain. */
async function refreshLoad (
  base: string, emails: readonly string[], kind: 'refresh' | 'oauth-refresh', connections: number, seconds: number
): Promise<LoadResult & { poolWait: number }> {
  const chains: string[] = []
  for (let first = 0; first < connections; first += 8) {
    const batch = emails.slice(first, Math.min(connections, first + 8))
    const sessions = await Promise.all(batch.map(async (email) => await login(base, email)))
    chains.push(...sessions.map((tokens) => tokens.refreshToken))
  }
  const stopSampling = samplePoolWait(base)
  const result = await runLoad(kind === 'refresh'
    ? {
        name: 'refresh',
        url: `${base}/auth/refresh`,
        connections,
        seconds,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        chain: {
          next: (slot) => JSON.stringify({ refreshToken: chains[slot] }),
          onBody: (slot, body) => { chains[slot] = (JSON.parse(body) as { refreshToken: string }).refreshToken }
        }
      }
    : {
        // A public client (the first-party app) sends no client credentials.
        name: 'oauth-refresh',
        url: `${base}/oauth/token`,
        connections,
        seconds,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        chain: {
          next: (slot) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chains[slot]! }).toString(),
          onBody: (slot, body) => { chains[slot] = (JSON.parse(body) as { refresh_token: string }).refresh_token }
        }
      })
  return { ...result, poolWait: stopSampling() }
}

function gitCommit (): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown'
  }
}

const log = (line: string): void => { process.stdout.write(`${line}\n`) }

if (process.env.BENCH_SKIP_BUILD !== '1') {
  log('building (tsc -p tsconfig.build.json)…')
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
}

const scratch = await scratchDatabase()
const passed = Object.fromEntries(PASSED_THROUGH
  .filter((name) => (process.env[name] ?? '') !== '')
  .map((name) => [name, process.env[name]!]))
const port = await freePort()
const serviceEnv: Record<string, string> = {
  ...scratch.serviceEnv,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_ENABLED: 'false',
  ISSUER: `http://127.0.0.1:${port}`,
  KEY_ENCRYPTION_SECRET: 'benchmark-only-secret-0000000000000000',
  COOKIE_SECURE: 'false',
  ...passed
}
const service = await startService(serviceEnv, port, process.env.BENCH_CPU_PROF)
const base = service.url
const rows: Row[] = []
const notes: string[] = []
let feedLine = ''

let bareServer: Awaited<ReturnType<typeof startBareServer>> | undefined
try {
  // One account per connection: the login throttle admits only a few attempts of one account at
  // once (a burst of guesses is cut), and real clients are different people.
  const run = Date.now()
  const emails = Array.from({ length: Math.max(...CONNECTIONS) }, (_, slot) => `bench-${run}-${slot}@example.com`)
  for (let first = 0; first < emails.length; first += 8) {
    await Promise.all(emails.slice(first, first + 8).map(async (email) => {
      const registered = await post(`${base}/auth/register`, { email, password: PASSWORD })
      if (!registered.ok) throw new Error(`register failed: ${registered.status} ${await registered.text()}`)
    }))
  }
  const session = await login(base, emails[0]!)
  notes.push(`Service peak RSS after start and setup: ${service.peakRssMiB()} MiB.`)

  // Each ceiling is measured right before the scenarios held against it, so that both see the
  // same machine (it is shared: a neighbour's load shifts both, not the ratio between them).
  bareServer = wanted('me') || wanted('jwks') ? await startBareServer() : undefined
  const concurrency = Number(passed.PASSWORD_HASH_CONCURRENCY ?? 2)
  for (const connections of CONNECTIONS) {
    if (wanted('login')) {
      const argon = await argon2Ceiling(concurrency, SECONDS)
      rows.push({ work: `ceiling: ${argon.name}`, ...argon, connections: concurrency })
      const result = await runLoad({
        name: 'login',
        url: `${base}/auth/login`,
        connections,
        seconds: SECONDS,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        chain: {
          next: (slot) => JSON.stringify({ email: emails[slot], password: PASSWORD, delivery: 'body' }),
          onBody: () => {}
        }
      })
      const rssMiB = service.peakRssMiB()
      rows.push({ work: 'POST /auth/login', ...result, connections, ceiling: argon, goal: 0.9, rssMiB })
    }
    if (wanted('refresh') || wanted('oauth-refresh')) {
      const database = await scratch.open(connections)
      let rotation: CeilingResult
      try {
        rotation = await rotationCeiling(database, connections, SECONDS)
      } finally {
        await database.close()
      }
      rows.push({ work: `ceiling: ${rotation.name}`, ...rotation, connections })
      for (const kind of ['refresh', 'oauth-refresh'] as const) {
        if (!wanted(kind)) continue
        const result = await refreshLoad(base, emails, kind, connections, SECONDS)
        rows.push({
          work: kind === 'refresh' ? 'POST /auth/refresh (body)' : 'POST /oauth/token refresh_token (public client)',
          ...result,
          connections,
          ceiling: rotation,
          goal: 0.6,
          note: `pool wait ≤ ${result.poolWait}`,
          rssMiB: service.peakRssMiB()
        })
      }
    }
    if (bareServer !== undefined) {
      const result = await runLoad({ name: 'bare', url: `${bareServer.url}/`, connections, seconds: SECONDS })
      const bare = { name: 'bare Fastify route', perSecond: result.perSecond, errors: result.errors }
      rows.push({ work: 'ceiling: bare Fastify route (GET, JWKS-sized JSON)', ...result, connections })
      if (wanted('me')) {
        const headers = { authorization: `Bearer ${session.accessToken}` }
        const me = await runLoad({ name: 'me', url: `${base}/auth/me`, connections, seconds: SECONDS, headers })
        rows.push({ work: 'GET /auth/me', ...me, connections, ceiling: bare, goal: 0.25, rssMiB: service.peakRssMiB() })
      }
      if (wanted('jwks')) {
        const url = `${base}/.well-known/jwks.json`
        const jwks = await runLoad({ name: 'jwks', url, connections, seconds: SECONDS })
        const rssMiB = service.peakRssMiB()
        rows.push({ work: 'GET /.well-known/jwks.json', ...jwks, connections, ceiling: bare, goal: 0.9, rssMiB })
      }
    }
  }

  if (wanted('feed-lag')) {
    const victims = await Promise.all(emails.slice(16, 36).map(async (email) => await login(base, email)))
    const load = refreshLoad(base, emails, 'refresh', 16, SECONDS * 2)
    const lag = await measureFeedLag(base, FEED_STREAMS, victims.map((tokens) => ({
      sid: tokens.sessionId,
      revoke: async () => {
        const response = await post(`${base}/auth/logout`, { refreshToken: tokens.refreshToken })
        if (response.status !== 204) throw new Error(`logout answered ${response.status}`)
      }
    })))
    const during = await load
    feedLine = `Feed lag: ${lag.streams} SSE streams on GET /revocations/stream while /auth/refresh runs at ` +
      `16 connections (${during.perSecond.toLocaleString('en-US')} req/s, ${during.non2xx} non-2xx): ` +
      `${lag.revocations} logouts, revoke → event on ` +
      `every stream p50 ${lag.p50ms} ms, p99 ${lag.p99ms} ms, ${lag.missed} missed (poll interval ` +
      `${passed.REVOCATIONS_POLL_INTERVAL_MS ?? 250} ms).`
  }
} finally {
  // Also when a scenario failed: no process of the benchmark outlives it.
  await bareServer?.stop()
  const peak = service.peakRssMiB()
  notes.push(`Peak RSS of the service process (VmHWM): ${peak} MiB (goal ≤ 150 MB).`)
  await service.stop()
  await scratch.drop()
}

const cpu = os.cpus()
const image = imageCommand()
const imageEnv = Object.entries(image.env).map(([key, value]) => `${key}=${value} `).join('')
const imageLine = `${imageEnv}node ${image.args.join(' ')}`
const hidden = ['DATABASE_URL', 'DATA_DIR', 'KEY_ENCRYPTION_SECRET', 'ISSUER']
const shownEnv = Object.entries(serviceEnv)
  .filter(([key]) => !hidden.includes(key))
  .map(([key, value]) => `${key}=${value}`)
  .join(', ')
const settings = [
  `- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ` +
    `${os.type()} ${os.release()}; Node ${process.version}; load average at the end ${os.loadavg()[0]!.toFixed(1)}.`,
  `- Database: ${scratch.label}.`,
  `- Service: \`${imageLine}\` (the Dockerfile's CMD) in its own process, ${shownEnv}.`,
  `- Load: autocannon in the benchmark process, keep-alive, ${SECONDS} s per scenario; each refresh connection ` +
    'walks its own chain (a login per connection first, then each response\'s refresh token is the next request\'s).',
  '- Ceilings, same run, each measured just before its scenarios: a bare Fastify route in a third process, ' +
    'answering the JWKS\'s shape (same headers, same body size); argon2id verify at the service\'s parameters in the ' +
    'benchmark process; the rotation statement through rotateByHash from the benchmark process, one pool ' +
    'connection per caller.',
  `- Commit ${gitCommit()}, ${new Date().toISOString()}.`
]
const commandEnv = {
  BENCH_DATABASE_URL: process.env.BENCH_DATABASE_URL !== undefined ? 'postgres://…/postgres' : undefined,
  BENCH_SECONDS: process.env.BENCH_SECONDS,
  ...passed
}
const commandPrefix = Object.entries(commandEnv)
  .filter(([, value]) => value !== undefined)
  .map(([key, value]) => `${key}=${value} `)
const command = `\`${commandPrefix.join('')}npm run bench\``
const table = markdownTable(rows)
const feed = feedLine === '' ? [] : ['', feedLine]
const generated = ['## Latest run', '', `Command: ${command}`, '', ...settings, '', table, '', ...notes, ...feed]
  .join('\n')
log('')
log(generated)
if (ONLY === undefined && process.env.BENCH_NO_WRITE !== '1') writeBenchmarksDoc('docs/BENCHMARKS.md', generated)
const missed = rows.filter((row) => row.goal !== undefined && (ratio(row) ?? 0) < row.goal)
if (missed.length > 0) log(`\ngoals not met: ${missed.map((row) => `${row.work} c${row.connections}`).join(', ')}`)
