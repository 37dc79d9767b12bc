import type { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Config } from '../config.js'
import type { Database } from './database.js'
import { PGliteDialect } from './pglite-dialect.js'
import { ensurePrivateDir, restrictTree } from '../lib/private-dir.js'

export interface PoolStats { total: number, idle: number, waiting: number }

/** The database, whichever engine is behind it, and how to let it go. */
export interface DatabaseHandle {
  readonly db: Kysely<Database>
  readonly kind: 'postgres' | 'pglite'
  poolStats: () => PoolStats
  close: () => Promise<void>
}

export type DatabaseConfig =
  Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DB_POOL_MAX' | 'DB_CONNECTION_TIMEOUT_MS' | 'DB_STATEMENT_TIMEOUT_MS'>

/**
 * Connect to PostgreSQL through a `pg` pool when DATABASE_URL is set, otherwise open (or create)
 * the embedded PGlite database persisted in DATA_DIR.
 */
export async function connectDatabase (
  config: DatabaseConfig, onPoolError: (error: Error) => void
): Promise<DatabaseHandle> {
  if (config.DATABASE_URL !== undefined) return connectPostgres(config, config.DATABASE_URL, onPoolError)
  await ensurePrivateDir(config.DATA_DIR)
  // Loaded only here: a service on PostgreSQL never pays for PGlite's modules.
  const { PGlite } = await import('@electric-sql/pglite')
  const client = await PGlite.create({ dataDir: config.DATA_DIR })
  return wrapPGlite(client, async () => {
    await client.close()
    await restrictTree(config.DATA_DIR)
  })
}

/** Use a PGlite instance owned by somebody else (tests share one between several apps). */
export function wrapPGlite (client: PGlite, close: () => Promise<void> = async () => {}): DatabaseHandle {
  return {
    db: new Kysely<Database>({ dialect: new PGliteDialect(client) }),
    kind: 'pglite',
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    close
  }
}

function connectPostgres (
  config: DatabaseConfig, connectionString: string, onPoolError: (error: Error) => void
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: config.DB_POOL_MAX,
    // Bounded waits make an unreachable or exhausted database fail fast (503) instead of hanging.
    connectionTimeoutMillis: config.DB_CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
    query_timeout: config.DB_STATEMENT_TIMEOUT_MS + 1000,
    application_name: 'token-service'
  })
  // An idle client whose connection drops emits 'error' on the pool; unhandled, it would kill the process.
  pool.on('error', onPoolError)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => { await db.destroy() }
  }
}
