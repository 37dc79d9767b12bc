import { ConfigError, loadConfig, type Config } from '../config.js'
import { connectDatabase, type DatabaseHandle } from '../db/connect.js'
import { migrateToLatest } from '../db/migrator.js'
import { resolveDevelopmentSecret } from '../lib/dev-secret.js'

/**
 * What every command starts with: the validated configuration (and the development secret) and a
 * migrated database, closed again when the command is done. A configuration error ends the
 * process with exit code 1 and one line, like the server.
 */
export async function runWithDatabase (name: string, command: (config: Config, database: DatabaseHandle) => Promise<void>): Promise<void> {
  let config: Config
  try {
    config = await resolveDevelopmentSecret(loadConfig(process.env))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${name}: ${error.message}\n`)
    process.exit(1)
  }
  const database = await connectDatabase(config, (error) => { process.stderr.write(`${name}: database error: ${error.message}\n`) })
  try {
    await migrateToLatest(database.db)
    await command(config, database)
  } finally {
    await database.close()
  }
}
