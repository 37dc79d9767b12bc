import { connectDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrator.js'
import { loadCommandConfig } from './context.js'

// `npm run migrate`: bring the configured database (or the embedded one in DATA_DIR) up to date.
const config = await loadCommandConfig('migrate')
const database = await connectDatabase(config, (error) => { process.stderr.write(`migrate: database error: ${error.message}\n`) })
try {
  const results = await migrateToLatest(database.db)
  for (const result of results ?? []) process.stdout.write(`${result.status.toLowerCase()}: ${result.migrationName}\n`)
  if ((results ?? []).length === 0) process.stdout.write('the database is up to date\n')
} finally {
  await database.close()
}
