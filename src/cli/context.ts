import { ConfigError, loadConfig, type Config } from '../config.js'
import { connectDatabase, type DatabaseHandle } from '../db/connect.js'
import { migrateToLatest } from '../db/migrator.js'
import { resolveDevelopmentSecret } from '../lib/dev-secret.js'

/**
 * The validated configuration (and the development secret), or exit code 1 with one line naming
 * what is wrong, exactly like the server.
 */
export async function loadCommandConfig (name: string): Promise<Config> {
  try {
    return await resolveDevelopmentSecret(loadConfig(process.env))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${name}: ${error.message}\n`)
    process.exit(1)
  }
}

/** Run a command on the configured database, migrated first and closed when the command is done. */
export async function runWithDatabase (name: string, command: (config: Config, database: DatabaseHandle) => Promise<void>): Promise<void> {
  const config = await loadCommandConfig(name)
  const database = await connectDatabase(config, (error) => { process.stderr.write(`${name}: database error: ${error.message}\n`) })
  try {
    await migrateToLatest(database.db)
    await command(config, database)
  } finally {
    await database.close()
  }
}
