import type { PGlite } from '@electric-sql/pglite'
import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult
} from 'kysely'

/**
 * A Kysely dialect for embedded PGlite. PGlite is a single connection, so the driver hands it to
 * one Kysely "connection" at a time: without this mutex two concurrent transactions would
 * interleave their statements inside one BEGIN … COMMIT (the flaw of the published
 * kysely-pglite driver, which is why this small one exists).
 */
export class PGliteDialect implements Dialect {
  readonly #client: PGlite

  constructor (client: PGlite) {
    this.#client = client
  }

  createAdapter (): PostgresAdapter { return new PostgresAdapter() }
  createDriver (): Driver { return new PGliteDriver(this.#client) }
  createIntrospector (db: Kysely<any>): PostgresIntrospector { return new PostgresIntrospector(db) }
  createQueryCompiler (): PostgresQueryCompiler { return new PostgresQueryCompiler() }
}

// One lock per PGlite instance, shared by every Kysely built on it: two apps sharing one embedded
// database (as tests do) must not interleave their transactions either.
interface ConnectionLock { queue: Promise<void> }
const locks = new WeakMap<PGlite, ConnectionLock>()

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection
  readonly #lock: ConnectionLock
  #release: (() => void) | undefined

  constructor (client: PGlite) {
    this.#connection = new PGliteConnection(client)
    let lock = locks.get(client)
    if (lock === undefined) {
      lock = { queue: Promise.resolve() }
      locks.set(client, lock)
    }
    this.#lock = lock
  }

  async init (): Promise<void> {}

  async acquireConnection (): Promise<DatabaseConnection> {
    const previous = this.#lock.queue
    let release!: () => void
    this.#lock.queue = new Promise<void>((resolve) => { release = resolve })
    await previous
    this.#release = release
    return this.#connection
  }

  async releaseConnection (): Promise<void> {
    const release = this.#release
    this.#release = undefined
    release?.()
  }

  async beginTransaction (connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN'))
  }

  async commitTransaction (connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('COMMIT'))
  }

  async rollbackTransaction (connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'))
  }

  // The PGlite instance belongs to whoever created it (see src/db/connect.ts).
  async destroy (): Promise<void> {}
}

class PGliteConnection implements DatabaseConnection {
  readonly #client: PGlite

  constructor (client: PGlite) {
    this.#client = client
  }

  async executeQuery<R> (compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#client.query<R>(compiledQuery.sql, [...compiledQuery.parameters])
    return result.affectedRows === undefined
      ? { rows: result.rows }
      : { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) }
  }

  async * streamQuery<R> (): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not support streaming queries')
  }
}
