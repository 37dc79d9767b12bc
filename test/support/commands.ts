import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { createScratchDatabase, usingPostgres } from '../helper.js'

/**
 * The operator commands, run as real processes (`node --import tsx src/cli/<command>.ts`, what the
 * npm scripts run once built) against a fresh database: an empty PGlite DATA_DIR, or a new
 * PostgreSQL database when TEST_DATABASE_URL is set.
 */

const run = promisify(execFile)
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface Target {
  /** Environment of the command, pointing at this database. */
  env: Record<string, string>
  /** Configuration overrides that point an app or a connection at the same database. */
  config: Record<string, string | boolean>
}

/** A database nobody has touched: a new PGlite directory, or a new PostgreSQL database. */
export async function freshTarget (t: Test): Promise<Target> {
  const dataDir = t.testdir()
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }
  const config: Record<string, string | boolean> = { DATA_DIR: dataDir }
  if (usingPostgres) {
    const url = await createScratchDatabase(t, 'cli')
    env.DATABASE_URL = url
    config.DATABASE_URL = url
  }
  return { env, config }
}

export interface CommandResult { code: number, stdout: string, stderr: string }

export async function command (script: string, args: string[], env: Record<string, string>): Promise<CommandResult> {
  try {
    const argv = ['--import', 'tsx', join('src/cli', script), ...args]
    const { stdout, stderr } = await run(process.execPath, argv, { cwd: ROOT, env, timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code?: number, stdout?: string, stderr?: string }
    const code = typeof failed.code === 'number' ? failed.code : -1
    return { code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' }
  }
}

export const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '')

// PGlite runs use the development path (no KEY_ENCRYPTION_SECRET: the commands and the server share
// a generated secret kept in DATA_DIR); PostgreSQL runs use an explicit secret, as production does.
export const explicitSecret = usingPostgres
