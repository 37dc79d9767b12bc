import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { OperatorError } from '../errors.js'
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

/**
 * Run a command on the configured database, migrated first and closed when the command is done.
 * A refusal (OperatorError) becomes one line on stderr and exit code 1; the database is untouched.
 */
export async function runWithDatabase (name: string, command: (config: Config, database: DatabaseHandle) => Promise<void>): Promise<void> {
  const config = await loadCommandConfig(name)
  const database = await connectDatabase(config, (error) => { process.stderr.write(`${name}: database error: ${error.message}\n`) })
  try {
    await migrateToLatest(database.db)
    await command(config, database)
  } catch (error) {
    if (!(error instanceof OperatorError)) throw error
    refuse(name, error.message)
  } finally {
    await database.close()
  }
}

/** One line naming what is wrong, and exit code 1 once the command has cleaned up. */
export function refuse (name: string, message: string): void {
  process.stderr.write(`${name}: ${message}\n`)
  process.exitCode = 1
}

/** The command line's options, or one line of usage and exit code 1 (node:util parseArgs is strict). */
export function parseCommandLine<T extends ParseArgsConfig['options']> (
  name: string, options: T
): ReturnType<typeof parseArgs<{ options: T, strict: true }>>['values'] {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message.split('\n')[0]}\n`)
    process.exit(1)
  }
}
