import { connectDatabase } from '../db/connect.js'
import { migrateToLatest } from '../db/migrator.js'
import { loadConfigOrExit } from '../bootstrap.js'
import { reportPoolError } from './context.js'

// `npm run migrate`: bring the configured database (or the embedded one in DATA_DIR) up to date.
const config = loadConfigOrExit('migrate')
const database = await connectDatabase(config, reportPoolError('migrate'))
try {
  const results = await migrateToLatest(database.db)
  for (const result of results ?? []) {
    process.stdout.write(`${result.status.toLowerCase()}: ${result.migrationName}\n`)
  }
  if ((results ?? []).length === 0) process.stdout.write('the database is up to date\n')
} finally {
  await database.close()
}
