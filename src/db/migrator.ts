import { Migrator, type Kysely, type MigrationResultSet } from 'kysely'
import { migrations } from '../../migrations/index.js'

/** The one migrator, shared by `npm run migrate`, start-up and the tests. */
export function createMigrator (db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } })
}

/** Bring the schema up to date; throws the migration's own error when one fails. */
export async function migrateToLatest (db: Kysely<any>): Promise<MigrationResultSet['results']> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  if (error !== undefined) throw error
  return results
}
