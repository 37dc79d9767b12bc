import type { FastifyInstance } from 'fastify'
import { buildTestApp, openTestDatabase, STRONG_PASSWORD, uniqueEmail } from '../helper.js'
import type { DatabaseHandle } from '../../src/db/connect.js'
import { createVerifier, type Verifier, type VerifierOptions } from '../../packages/verifier/src/index.js'
import { freePort } from '../support/free-port.js'
export { freePort }

/** The kit's tests run the real service on a real port, with ISSUER its own address (discovery is read from there). */

export const KIT_AUDIENCE = 'http://api.test'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface RunningService {
  app: FastifyInstance
  issuer: string
  port: number
  database: DatabaseHandle
  /** Requests the service received, by path (without the query string), since it started. */
  requests: Map<string, number>
  requestCount: () => number
  /** Stop listening (ending every stream), as a crashed or stopped service would. */
  stop: () => Promise<void>
  /** Start again on the same port and database (a new instance, the same keys and sessions). */
  restart: () => Promise<void>
}

export async function startService (
  t: Teardown,
  overrides: Record<string, string | number | boolean> = {}
): Promise<RunningService> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const database = await openTestDatabase(t)
  const requests = new Map<string, number>()
  const service: RunningService = {
    app: undefined as unknown as FastifyInstance,
    issuer,
    port,
    database,
    requests,
    requestCount: () => [...requests.values()].reduce((sum, n) => sum + n, 0),
    stop: async () => { await service.app.close() },
    restart: async () => { await boot() }
  }
  async function boot (): Promise<void> {
    const app = await buildTestApp(
      t,
      { ISSUER: issuer, AUDIENCE: KIT_AUDIENCE, REVOCATIONS_HEARTBEAT_SECONDS: 1, ...overrides },
      { database }
    )
    app.server.on('request', (request: { url?: string }) => {
      const path = (request.url ?? '').split('?')[0]!
      requests.set(path, (requests.get(path) ?? 0) + 1)
    })
    await app.listen({ port, host: '127.0.0.1' })
    service.app = app
  }
  await boot()
  return service
}

export async function kit (
  t: Teardown,
  service: RunningService,
  options: Partial<VerifierOptions> = {}
): Promise<Verifier> {
  const verifier = createVerifier({ issuer: service.issuer, audience: KIT_AUDIENCE, ...options })
  t.teardown(async () => { await verifier.close() })
  await verifier.ready()
  return verifier
}

export interface Session {
  email: string
  password: string
  userId: string
  accessToken: string
  refreshToken: string
  sessionId: string
}

async function post (
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {}
): Promise<Response> {
  return await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
}

/** Register and log in over HTTP (delivery "body"), as a client of the service would. */
export async function newSession (base: string, user?: { email: string, password: string }): Promise<Session> {
  const credentials = user ?? { email: uniqueEmail('kit'), password: STRONG_PASSWORD }
  let userId = ''
  if (user === undefined) {
    const registered = await post(base, '/auth/register', credentials)
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`)
    userId = ((await registered.json()) as { user: { id: string } }).user.id
  }
  const loggedIn = await post(base, '/auth/login', { ...credentials, delivery: 'body' })
  if (loggedIn.status !== 200) throw new Error(`login failed: ${loggedIn.status} ${await loggedIn.text()}`)
  const body = await loggedIn.json() as { accessToken: string, refreshToken: string, sessionId: string }
  return { ...credentials, userId, ...body }
}

export async function logout (base: string, session: Session): Promise<void> {
  const response = await post(base, '/auth/logout', { refreshToken: session.refreshToken })
  if (response.status !== 204) throw new Error(`logout failed: ${response.status}`)
}

/** The error code `verify` rejects with, or 'ok'. */
export async function outcome (verifier: Verifier, token: string): Promise<string> {
  return await verifier.verify(token).then(() => 'ok', (error: { code?: string }) => error.code ?? 'no code')
}

/** Poll until `check` resolves true; the time it took in ms, or throws after `ms`. */
export async function within (ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
