import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** A process the benchmark started, where it listens, and how to stop it. */
export interface Spawned {
  url: string
  pid: number
  /** The process's peak resident set (VmHWM), in MiB. */
  peakRssMiB: () => number
  stop: () => Promise<void>
}

export function peakRssMiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmHWM:\s+(\d+) kB/m.exec(status)
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024)
}

function wrap (child: ChildProcess, url: string): Spawned {
  return {
    url,
    pid: child.pid!,
    peakRssMiB: () => peakRssMiB(child.pid!),
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
  }
}

/**
 * How the image starts the service: the node arguments of the Dockerfile's CMD and its MALLOC_*
 * settings, so that the benchmark measures (memory above all) what production runs.
 */
export function imageCommand (dockerfile = 'Dockerfile'): { args: string[], env: Record<string, string> } {
  const text = readFileSync(dockerfile, 'utf8')
  const cmd = [...text.matchAll(/^CMD (\[.*\])$/gm)].at(-1)
  const args = cmd === undefined ? ['dist/src/server.js'] : (JSON.parse(cmd[1]!) as string[]).slice(1)
  const settings = [...text.matchAll(/^ENV (MALLOC_\w+)=(\S+)$/gm)]
  const env = Object.fromEntries(settings.map((match) => [match[1]!, match[2]!]))
  return { args, env }
}

/** The service as it runs in production: the built server, configured only through its environment. */
export async function startService (env: Record<string, string>, port: number, cpuProfileDir = ''): Promise<Spawned> {
  const profile = cpuProfileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir]
  const image = imageCommand()
  const child = spawn(process.execPath, [...profile, ...image.args], {
    env: { PATH: process.env.PATH ?? '', ...image.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the service exited with code ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return wrap(child, url)
    } catch {}
    await sleep(200)
  }
  child.kill('SIGTERM')
  throw new Error('the service did not become ready within 60 s')
}

/** The bare Fastify route, through tsx (its code is too small for the loader to matter). */
export async function startBareServer (): Promise<Spawned> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-server.ts'], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening (\S+)/.exec(output)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', (code) => { reject(new Error(`the bare server exited with code ${code}`)) })
  })
  return wrap(child, url)
}
