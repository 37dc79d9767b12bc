import { chmodSync, mkdirSync } from 'node:fs'
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * DATA_DIR holds the embedded database (password hashes, encrypted keys) and the development
 * secret that decrypts those keys: only the service's own user may enter it. The directory is
 * made 0700 even when it already existed, before anything is opened, so others cannot reach the
 * files PGlite creates with the process umask; on close the files themselves lose their
 * group/other bits too (done then, not at start, so that start-up is not slowed by a tree walk).
 */
export async function ensurePrivateDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
}

/** The same, for configuration loading (the development secret is written before anything starts). */
export function ensurePrivateDirSync (dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
}

export async function restrictTree (dir: string): Promise<void> {
  try {
    await chmod(dir, 0o700)
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      const path = join(entry.parentPath, entry.name)
      const info = await lstat(path)
      if (info.isSymbolicLink() || (info.mode & 0o077) === 0) continue
      await chmod(path, info.mode & 0o700)
    }
  } catch (error) {
    // A directory (or file) removed meanwhile has nothing left to protect.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}
