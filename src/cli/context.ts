import { parseArgs, type ParseArgsConfig } from 'node:util'
import { loadConfigOrExit } from '../bootstrap.js'
import type { Config } from '../config.js'
import { OperatorError } from '../errors.js'
import { connectDatabase, type DatabaseHandle } from '../db/connect.js'
import { migrateToLatest } from '../db/migrator.js'

/** One line on stderr for an error of the database pool, named after the command. */
export const reportPoolError = (name: string) => (error: Error): void => {
  process.stderr.write(`${name}: database error: ${error.message}\n`)
}

/**
 * Run a command on the configured database, migrated first and closed when the command is done.
 * A refusal (OperatorError) becomes one line on stderr and exit code 1; the database is untouched.
 */
export async function runWithDatabase (
  name: string, command: (config: Config, database: DatabaseHandle) => Promise<void>
): Promise<void> {
  const config = loadConfigOrExit(name)
  const database = await connectDatabase(config, reportPoolError(name))
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
