import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensurePrivateDirSync } from './private-dir.js'

export const DEV_SECRET_FILE = '.key-encryption-secret'

/**
 * Outside production KEY_ENCRYPTION_SECRET may be omitted: a random one is generated once and kept
 * (mode 0600) in DATA_DIR, so that keys encrypted by one run can be read by the next. Production
 * refuses to start without it (see loadConfig). Synchronous, because it runs while the
 * configuration is resolved, before anything else starts.
 */
export function readOrCreateDevelopmentSecret (dataDir: string): string {
  const path = join(dataDir, DEV_SECRET_FILE)
  const existing = readSecretFile(path)
  if (existing !== undefined) return existing
  ensurePrivateDirSync(dataDir)
  // Written in full under a private name, then linked into place: a server and a command starting
  // together never read a half-written secret, and the first link wins (EEXIST: the other's file).
  const draft = `${path}.${process.pid}.${randomBytes(6).toString('hex')}`
  const secret = randomBytes(32).toString('base64url')
  writeFileSync(draft, secret + '\n', { mode: 0o600, flag: 'wx' })
  try {
    linkSync(draft, path)
    return secret
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const winner = readSecretFile(path)
    if (winner === undefined) throw error
    return winner
  } finally {
    rmSync(draft, { force: true })
  }
}

function readSecretFile (path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return undefined
  }
}
