import t from 'tap'
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectDatabase } from '../../src/db/connect.js'
import { testConfig } from '../helper.js'

/** DATA_DIR holds the embedded database and the development secret: nobody else may read it. */
async function readableByOthers (dir: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    if (((await stat(path)).mode & 0o077) !== 0) found.push(path)
  }
  return found
}

t.test('DATA_DIR is created 0700 and its files are not readable by group or others', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'ts-data-dir-'))
  t.teardown(async () => { await rm(parent, { recursive: true, force: true }) })
  for (const label of ['new', 'pre-existing 0755']) {
    const dataDir = join(parent, label.replaceAll(' ', '-'))
    if (label !== 'new') await mkdir(dataDir, { mode: 0o755 })
    // No secret: loading the configuration writes the development secret into DATA_DIR.
    const config = testConfig({ DATA_DIR: dataDir, DATABASE_URL: '', KEY_ENCRYPTION_SECRET: '' })
    const handle = await connectDatabase(config, () => {})
    await handle.close()
    t.equal((await stat(dataDir)).mode & 0o777, 0o700, `${label}: the directory is 0700`)
    t.same(await readableByOthers(dataDir), [], `${label}: no file or directory inside is open to group or others`)
  }
})
