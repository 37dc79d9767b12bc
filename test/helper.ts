import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pg from 'pg'
import tap, { type Test } from 'tap'
import { buildApp } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { connectDatabase, wrapPGlite, type DatabaseHandle } from '../src/db/connect.js'
import { migrateToLatest } from '../src/db/migrator.js'
import type { Clock } from '../src/lib/clock.js'

/**
 * Tests run against a real database: PostgreSQL when TEST_DATABASE_URL names one (each test file
 * gets a fresh database of its own there), otherwise one in-memory PGlite per test file.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL
export const usingPostgres = TEST_DATABASE_URL !== undefined && TEST_DATABASE_URL !== ''

interface Teardown { teardown: (fn: () => unknown) => void }

export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  ISSUER: 'http://issuer.test',
  AUDIENCE: 'http://api.test',
  KEY_ENCRYPTION_SECRET: 'test-only-key-encryption-secret-0123456789',
  COOKIE_SECURE: 'true',
  MIGRATE_ON_START: 'false',
  RATE_LIMIT_ENABLED: 'false'
}

export function testConfig (overrides: Record<string, string | number | boolean> = {}): Config {
  const env: Record<string, string> = { ...TEST_ENV }
  for (const [key, value] of Object.entries(overrides)) env[key] = String(value)
  return loadConfig(env)
}

let sharedDatabase: Promise<{ url?: string, pglite?: PGlite }> | undefined

/** This test file's database, created and migrated on first use and dropped when the file ends. */
async function fileDatabase (): Promise<{ url?: string, pglite?: PGlite }> {
  sharedDatabase ??= (async () => {
    if (!usingPostgres) {
      const pglite = await migratedPGlite()
      // Closed when the whole file is done (an open PGlite would keep the process alive).
      tap.teardown(async () => { await pglite.close() })
      return { pglite }
    }
    const url = await createScratchDatabase(tap, 'test')
    const handle = await connectDatabase({ ...testConfig(), DATABASE_URL: url }, () => {})
    await migrateToLatest(handle.db)
    await handle.close()
    return { url }
  })()
  return await sharedDatabase
}

/**
 * A fresh in-memory PGlite with the schema in place. Starting PGlite from scratch (initdb inside
 * WebAssembly) costs several seconds, so the first test file saves a migrated data directory as a
 * template, keyed by the migrations' contents, and the others start from a copy of it.
 */
async function migratedPGlite (): Promise<PGlite> {
  const migrationsDir = new URL('../migrations/', import.meta.url)
  // Keyed by the PGlite version and the migrations, so a stale template is never used.
  const pglitePackage = new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url)
  const hash = createHash('sha256').update(await readFile(pglitePackage))
  for (const file of (await readdir(migrationsDir)).sort()) {
    hash.update(file).update(await readFile(new URL(file, migrationsDir)))
  }
  const templatePath = join(tmpdir(), `token-service-pglite-${hash.digest('hex').slice(0, 16)}.tar`)
  try {
    return await PGlite.create({ loadDataDir: new Blob([await readFile(templatePath)]) })
  } catch {
    const pglite = await PGlite.create()
    await migrateToLatest(wrapPGlite(pglite).db)
    const dump = Buffer.from(await (await pglite.dumpDataDir('none')).arrayBuffer())
    // Write then rename, so a concurrent reader never sees half a template.
    const partial = `${templatePath}.${process.pid}.partial`
    await writeFile(partial, dump)
    await rename(partial, templatePath)
    return pglite
  }
}

/** A new, empty database on the test PostgreSQL server, dropped at teardown: its URL. */
export async function createScratchDatabase (t: Teardown, label: string): Promise<string> {
  const name = `ts_${label}_${process.pid}_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.teardown(async () => { await dropDatabase(name).catch(() => {}) })
  const url = new URL(TEST_DATABASE_URL!)
  url.pathname = `/${name}`
  return url.toString()
}

async function dropDatabase (name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.end()
}

/** A database handle on this file's database, closed at teardown. */
export async function openTestDatabase (t: Teardown): Promise<DatabaseHandle> {
  const database = await fileDatabase()
  const handle = database.pglite !== undefined
    ? wrapPGlite(database.pglite)
    : await connectDatabase({ ...testConfig(), DATABASE_URL: database.url }, () => {})
  t.teardown(async () => { await handle.close() })
  return handle
}

export interface TestAppOptions {
  /** Share a database handle with another app (two "instances" on one database). */
  database?: DatabaseHandle
  /**
   * Start on an empty key ring, so the app's JWT_ALG signs at once: on a ring of another algorithm
   * the old key keeps signing until the new one has been published for the JWKS max-age.
   */
  freshKeys?: boolean
  /** The app's clock (see test/support/test-clock.ts); the system clock by default. */
  clock?: Clock
}

/** The real application, on this file's database, closed at teardown. */
export async function buildTestApp (
  t: Teardown,
  overrides: Record<string, string | number | boolean> = {},
  options: TestAppOptions = {}
): Promise<FastifyInstance> {
  const config = testConfig(overrides)
  const database = options.database ?? await openTestDatabase(t)
  if (options.freshKeys === true) await database.db.deleteFrom('signing_keys').execute()
  const app = await buildApp({ config, database, logger: false, clock: options.clock })
  t.teardown(async () => { await app.close() })
  await app.ready()
  return app
}

let counter = 0
/** An email no other test uses, so tests can share a database. */
export const uniqueEmail = (label = 'user'): string => `${label}-${process.pid}-${Date.now()}-${counter++}@example.com`

export const STRONG_PASSWORD = 'correct horse battery staple 42'

export async function postJson (
  app: FastifyInstance,
  url: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<LightMyRequestResponse> {
  const json = { 'content-type': 'application/json', ...headers }
  return await app.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: json })
}

/** Assert a problem+json answer with the given status and code. */
export function assertProblem (t: Test, response: LightMyRequestResponse, status: number, code: string): void {
  t.equal(response.statusCode, status, `status ${status} (${response.body.slice(0, 200)})`)
  t.match(response.headers['content-type'], /^application\/problem\+json/, 'problem+json content type')
  const body = response.json()
  t.equal(body.code, code, `code ${code}`)
  t.equal(body.status, status, 'status repeated in the body')
  t.match(body, { type: String, title: String, detail: String })
}
