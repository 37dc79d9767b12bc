import { execFile } from 'node:child_process'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * Build packages/verifier to its dist/ (what its package.json exports), unless dist is already
 * newer than every source file. Test files run in parallel: a lock directory keeps two of them
 * from writing dist at once (one would read half-written files).
 */

const ROOT = new URL('../../', import.meta.url).pathname
const KIT = join(ROOT, 'packages/verifier')
const LOCK = join(KIT, '.build-lock')
const STALE_LOCK_MS = 120_000

async function mtime (path: string): Promise<number> {
  return await stat(path).then((s) => s.mtimeMs, () => 0)
}

async function upToDate (): Promise<boolean> {
  const built = await mtime(join(KIT, 'dist/index.js'))
  if (built === 0) return false
  const sources = await readdir(join(KIT, 'src'))
  const packageTime = await mtime(join(KIT, 'package.json'))
  const sourceTimes = await Promise.all(sources.map(async (file) => await mtime(join(KIT, 'src', file))))
  const newest = Math.max(packageTime, ...sourceTimes)
  return newest < built
}

async function acquire (): Promise<void> {
  for (;;) {
    try {
      await mkdir(LOCK)
      return
    } catch {
      if (Date.now() - await mtime(LOCK) > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true })
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

export async function buildVerifierKit (options: { force?: boolean } = {}): Promise<void> {
  await acquire()
  try {
    if (options.force !== true && await upToDate()) return
    await promisify(execFile)('npm', ['run', '-s', 'build', '-w', '@token-service/verifier'], { cwd: ROOT })
  } finally {
    await rm(LOCK, { recursive: true, force: true })
  }
}
