import { execFile } from 'node:child_process'
import { constants } from 'node:fs'
import { access, appendFile, chown, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

const run = promisify(execFile)

interface Teardown { teardown: (fn: () => unknown) => void }

/** A PostgreSQL cluster of its own that a fault test may stop and start at will. */
export interface ThrowawayPostgres {
  /** Connection string for the `postgres` superuser (trust authentication). */
  readonly url: string
  readonly port: number
  /** Kill the server at once (`pg_ctl stop -m immediate`), as a crash or a network cut would. */
  stop: () => Promise<void>
  /** Start it again on the same port and data directory. */
  start: () => Promise<void>
}

// initdb refuses to run as root; root hands the cluster to this OS user instead.
const CLUSTER_OWNER = 'postgres'
const START_TIMEOUT_SECONDS = 30

/**
 * Create and start a PostgreSQL cluster in a temporary directory on a free loopback port; it is
 * stopped and deleted at teardown. Resolves to `undefined` when no PostgreSQL binaries are
 * installed (or, as root, no `postgres` OS user can own the cluster): the caller then skips.
 */
export async function startThrowawayPostgres (t: Teardown): Promise<ThrowawayPostgres | undefined> {
  const binDir = await findPostgresBinDir()
  if (binDir === undefined) return undefined
  const owner = await clusterOwner()
  if (owner === null) return undefined

  const root = await mkdtemp(join(shortTmpdir(), 'pg-throwaway-'))
  let running = false
  t.teardown(async () => {
    if (running) await pgCtl('stop', '-m', 'immediate', '-w').catch(() => {})
    await rm(root, { recursive: true, force: true })
  })

  const dataDir = join(root, 'data')
  const logFile = join(root, 'postgres.log')
  const asOwner = async (command: string, ...args: string[]): Promise<void> => {
    const binary = join(binDir, command)
    if (owner === undefined) await run(binary, args)
    else await owner.runAs(binary, args)
  }
  const pgCtl = async (...args: string[]): Promise<void> => { await asOwner('pg_ctl', '-D', dataDir, ...args) }

  if (owner !== undefined) await chown(root, owner.uid, owner.gid)
  await asOwner('initdb', '-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync')
  const port = await freePort()
  // No fsync: the files only have to survive the server process, not the machine. Commits stay
  // synchronous, though: an immediate stop drops WAL still in shared memory, and with it
  // whatever an asynchronous commit had acknowledged.
  await appendFile(join(dataDir, 'postgresql.conf'), [
    '',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${root}'`,
    'fsync = off',
    'full_page_writes = off',
    'max_connections = 50',
    ''
  ].join('\n'))

  const start = async (): Promise<void> => {
    try {
      await pgCtl('start', '-w', '-t', String(START_TIMEOUT_SECONDS), '-l', logFile)
    } catch (error) {
      throw new Error(`pg_ctl start failed on port ${port}: ${await tail(logFile)}`, { cause: error })
    }
    running = true
  }
  const stop = async (): Promise<void> => {
    await pgCtl('stop', '-m', 'immediate', '-w')
    running = false
  }

  await start()
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, start, stop }
}

/** The newest Debian-style /usr/lib/postgresql/<major>/bin, else `pg_config --bindir`, else PATH. */
async function findPostgresBinDir (): Promise<string | undefined> {
  const candidates: string[] = []
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[])
  for (const version of versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))) {
    candidates.push(`/usr/lib/postgresql/${version}/bin`)
  }
  const fromPgConfig = await run('pg_config', ['--bindir']).then(({ stdout }) => stdout.trim(), () => undefined)
  if (fromPgConfig !== undefined && fromPgConfig !== '') candidates.push(fromPgConfig)
  candidates.push(...(process.env.PATH ?? '').split(':').filter((dir) => dir !== ''))
  for (const dir of candidates) {
    const executable = async (name: string): Promise<boolean> =>
      await access(join(dir, name), constants.X_OK).then(() => true, () => false)
    const present = await Promise.all(['initdb', 'pg_ctl', 'postgres'].map(executable))
    if (present.every(Boolean)) return dir
  }
  return undefined
}

interface ClusterOwner { uid: number, gid: number, runAs: (binary: string, args: string[]) => Promise<void> }

/** `undefined`: run as ourselves; an owner: run as that user; `null`: root with nobody to run as. */
async function clusterOwner (): Promise<ClusterOwner | undefined | null> {
  if (process.getuid?.() !== 0) return undefined
  const ids = await Promise.all([run('id', ['-u', CLUSTER_OWNER]), run('id', ['-g', CLUSTER_OWNER])])
    .catch(() => undefined)
  if (ids === undefined) return null
  const [uid, gid] = ids.map(({ stdout }) => Number(stdout.trim()))
  const runuser = await findExecutable('runuser')
  const su = await findExecutable('su')
  const runAs = runuser !== undefined
    ? async (binary: string, args: string[]) => { await run(runuser, ['-u', CLUSTER_OWNER, '--', binary, ...args]) }
    : su !== undefined
      ? async (binary: string, args: string[]) => {
        await run(su, [CLUSTER_OWNER, '-s', '/bin/sh', '-c', [binary, ...args].map(shellQuote).join(' ')])
      }
      : undefined
  if (runAs === undefined || uid === undefined || gid === undefined) return null
  return { uid, gid, runAs }
}

// runuser and su live in sbin directories, which a non-login PATH may lack.
async function findExecutable (name: string): Promise<string | undefined> {
  const onPath = (process.env.PATH ?? '').split(':').filter((dir) => dir !== '')
  const dirs = [...onPath, '/usr/sbin', '/sbin', '/usr/bin', '/bin']
  for (const dir of dirs) {
    if (await access(join(dir, name), constants.X_OK).then(() => true, () => false)) return join(dir, name)
  }
  return undefined
}

const shellQuote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`

// Unix socket paths are limited to ~107 bytes; a long TMPDIR would break the server's socket.
function shortTmpdir (): string {
  const dir = tmpdir()
  return dir.length <= 40 ? dir : '/tmp'
}

async function tail (file: string): Promise<string> {
  return await run('tail', ['-n', '20', file]).then(({ stdout }) => stdout, () => '(no server log)')
}
