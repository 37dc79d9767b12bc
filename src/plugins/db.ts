import fp from 'fastify-plugin'
import type { Kysely } from 'kysely'
import { connectDatabase, type DatabaseHandle } from '../db/connect.js'
import type { Database } from '../db/database.js'
import { migrateToLatest } from '../db/migrator.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
    database: DatabaseHandle
  }
}

export interface DbPluginOptions {
  /** A database opened by the caller (tests, several apps on one PGlite); it is not closed here. */
  database?: DatabaseHandle
}

/** Opens the database named by the configuration, migrates it when asked, and closes it on shutdown. */
export default fp<DbPluginOptions>(async function dbPlugin (fastify, opts) {
  const owned = opts.database === undefined
  const database = opts.database ?? await connectDatabase(fastify.config, (error) => {
    fastify.log.warn({ err: error }, 'database connection dropped; the pool will reconnect')
  })
  if (fastify.config.MIGRATE_ON_START) {
    const results = await migrateToLatest(database.db)
    for (const result of results ?? []) {
      fastify.log.info({ migration: result.migrationName, status: result.status }, 'migration')
    }
  }
  fastify.decorate('database', database)
  fastify.decorate('db', database.db)
  if (owned) fastify.addHook('onClose', async () => { await database.close() })
}, { name: 'db', dependencies: ['config'], fastify: '5.x' })
