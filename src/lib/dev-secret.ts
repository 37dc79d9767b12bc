import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config.js'
import { ensurePrivateDir } from './private-dir.js'

export const DEV_SECRET_FILE = '.key-encryption-secret'

/**
 * Outside production KEY_ENCRYPTION_SECRET may be omitted: a random one is generated once and kept
 * (mode 0600) in DATA_DIR, so that keys encrypted by one run can be read by the next. Production
 * refuses to start without it (see loadConfig).
 */
export async function resolveDevelopmentSecret (config: Config): Promise<Config> {
  if (config.KEY_ENCRYPTION_SECRET !== undefined) return config
  const path = join(config.DATA_DIR, DEV_SECRET_FILE)
  let secret: string
  try {
    secret = (await readFile(path, 'utf8')).trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    await ensurePrivateDir(config.DATA_DIR)
    secret = randomBytes(32).toString('base64url')
    await writeFile(path, secret + '\n', { mode: 0o600, flag: 'wx' })
  }
  return Object.freeze({ ...config, KEY_ENCRYPTION_SECRET: secret })
}
