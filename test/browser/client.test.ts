import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { registerResource } from '../../src/domain/authorization/resources.js'
import { changeRoles } from '../../src/domain/authorization/roles.js'
import { buildTestApp, STRONG_PASSWORD, uniqueEmail } from '../helper.js'

/*
 * The browser client (packages/client) in a real headless Chromium, loaded from a second origin
 * (http://localhost:<page port>) and talking to the service on http://localhost:<service port>:
 * same site, different origin, so CORS with credentials and the SameSite=Strict cookie are both
 * real. With the grace window at 0, only a true single-flight refresh across tabs keeps the
 * session alive when three tabs ask for a token at once.
 */

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]
const CLIENT_MODULE = fileURLToPath(new URL('../../packages/client/dist/index.js', import.meta.url))

/**
 * Serves an empty page and the built client module: the frontend's own origin. `/echo` stands for
 * a resource server: it answers with the bearer token it was sent.
 */
async function startPageServer (): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(CLIENT_MODULE))
      return
    }
    if (request.url === '/echo') {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? null
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bearer }))
      return
    }
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>spa</title>')
  })
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
  return server
}

/** Opens a tab of the frontend with a client on `window.auth` and a log of its change events. */
async function openTab (context: BrowserContext, pageOrigin: string, serviceUrl: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(`${pageOrigin}/`)
  await page.evaluate(async (baseUrl) => {
    const { createAuthClient } = await import('/client.js' as string)
    const w = globalThis as unknown as Record<string, unknown>
    const auth = createAuthClient({ baseUrl })
    const changes: Array<string | null> = []
    auth.onChange((user: { email: string } | null) => { changes.push(user === null ? null : user.email) })
    w.auth = auth
    w.changes = changes
  }, serviceUrl)
  return page
}

const chromiumMissing = !existsSync(CHROMIUM)
if (chromiumMissing && process.env.CI === 'true') {
  t.fail(`${CHROMIUM} is missing: CI must install Chromium for the browser tests`)
} else if (chromiumMissing) {
  t.skip('browser client tests (skipped: /usr/bin/chromium not found)', async () => {})
} else {
  const pages = await startPageServer()
  t.teardown(() => { pages.close() })
  const pageOrigin = `http://localhost:${(pages.address() as AddressInfo).port}`

  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, 'localhost', resolve))
  const servicePort = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => { resolve() }))
  const serviceUrl = `http://localhost:${servicePort}`
  const app = await buildTestApp(t, {
    ISSUER: serviceUrl,
    ALLOWED_ORIGINS: pageOrigin,
    COOKIE_SECURE: false,
    REFRESH_REUSE_GRACE_SECONDS: 0
  })
  await app.listen({ port: servicePort, host: 'localhost' })

  const context = await chromium.launchPersistentContext(t.testdir(), {
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 20_000
  })
  t.teardown(async () => { await context.close() })
  context.setDefaultTimeout(10_000)

  const email = uniqueEmail('browser')

  t.test('register, log in and read /auth/me through client.fetch from another origin', async (t) => {
    const page = await openTab(context, pageOrigin, serviceUrl)
    const result = await page.evaluate(async ({ email, password }) => {
      const auth = (globalThis as unknown as { auth: any }).auth
      const registered = await auth.register(email, password)
      const loggedIn = await auth.login(email, password)
      const response = await auth.fetch('/auth/me')
      const me = await auth.me()
      let duplicate: { code?: string, status?: number } = {}
      try {
        await auth.register(email, password)
      } catch (error) {
        const { code, status } = error as { code: string, status: number }
        duplicate = { code, status, isError: error instanceof Error } as typeof duplicate
      }
      return { registered, loggedIn, status: response.status, body: await response.json(), me, duplicate }
    }, { email, password: STRONG_PASSWORD })
    t.equal(result.registered.email, email)
    t.equal(result.loggedIn.email, email)
    t.equal(result.status, 200, 'client.fetch adds the bearer token')
    t.equal(result.body.user.email, email)
    t.equal(result.me.email, email)
    t.equal(result.duplicate.code, 'email_taken', 'errors carry the problem code')
    t.equal(result.duplicate.status, 409, 'and the status')
    await page.close()
  })

  t.test('three tabs asking for a token at once cause exactly one rotation, and the session lives', async (t) => {
    const user = await app.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow()
    const tokenCount = async (): Promise<number> => Number((await app.db.selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .where('sessions.user_id', '=', user.id).where('sessions.revoked_at', 'is', null)
      .select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
    const before = await tokenCount()
    const tabs = await Promise.all([1, 2, 3].map(async () => await openTab(context, pageOrigin, serviceUrl)))
    const tokens = await Promise.all(tabs.map(async (tab) =>
      await tab.evaluate(async () => await (globalThis as unknown as { auth: any }).auth.getAccessToken())))
    t.ok(tokens.every((token) => typeof token === 'string' && token.split('.').length === 3), 'every tab got a token')
    t.equal(await tokenCount() - before, 1, 'exactly one rotation (grace 0: a second would revoke the session)')
    const me = await tabs[0]!.evaluate(async () => await (globalThis as unknown as { auth: any }).auth.me())
    t.equal(me?.email, email, 'the session is still alive')

    const storage = await tabs[1]!.evaluate(() => {
      // Runs in the page: the browser's storage, read as any script of the page could.
      type Storage = { localStorage: object, sessionStorage: object, document: { cookie: string } }
      const page = globalThis as unknown as Storage
      return {
        local: JSON.stringify({ ...page.localStorage }),
        session: JSON.stringify({ ...page.sessionStorage }),
        cookie: page.document.cookie
      }
    })
    for (const [where, value] of Object.entries(storage)) {
      t.notMatch(value, /eyJ|refresh/i, `nothing token-like in ${where}`)
    }

    await tabs[0]!.evaluate(async () => { await (globalThis as unknown as { auth: any }).auth.logout() })
    await tabs[2]!.waitForFunction(() => (globalThis as unknown as { changes: unknown[] }).changes.includes(null))
    t.pass('a logout in one tab reaches onChange(null) in another')
    const after = await tabs[1]!.evaluate(async () =>
      await (globalThis as unknown as { auth: any }).auth.getAccessToken())
    t.equal(after, null, 'no tab has a token after the logout')
    for (const tab of tabs) await tab.close()
  })

  // Resource servers (RFC 8707): unique per run, so runs sharing a PostgreSQL database never collide.
  const suffix = `${process.pid}-${Date.now()}`
  const BILLING = `https://billing.example.com/${suffix}`
  const INVOICES = `https://invoices.example.com/${suffix}`
  await registerResource(app.db, { uri: BILLING })
  await registerResource(app.db, { uri: INVOICES, ttlSeconds: 120 })
  const jwks = createRemoteJWKSet(new URL(`${serviceUrl}/.well-known/jwks.json`))
  const resourceEmail = uniqueEmail('browser-resource')

  /** Refresh tokens issued in the user's live sessions: each rotation adds one. */
  const liveTokens = async (address: string): Promise<number> => Number((await app.db.selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .where('users.email', '=', address).where('sessions.revoked_at', 'is', null)
    .select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  const ask = async (tab: Page, resource?: string): Promise<string | null> => await tab.evaluate(async (resource) => {
    const auth = (globalThis as unknown as { auth: any }).auth
    return await auth.getAccessToken(resource === undefined ? undefined : { resource })
  }, resource)

  t.test('getAccessToken({ resource }): aud is the resource; the default token still opens /auth/me', async (t) => {
    const page = await openTab(context, pageOrigin, serviceUrl)
    await page.evaluate(async ({ email, password }) => {
      await (globalThis as unknown as { auth: any }).auth.register(email, password)
    }, { email: resourceEmail, password: STRONG_PASSWORD })
    await changeRoles(app.db, resourceEmail, { add: ['admin'], remove: [] })
    const before = await liveTokens(resourceEmail)
    const result = await page.evaluate(async ({ email, password, billing, echo }) => {
      const auth = (globalThis as unknown as { auth: any }).auth
      await auth.login(email, password)
      const own = await auth.getAccessToken()
      const forBilling = await auth.getAccessToken({ resource: billing })
      const again = await auth.getAccessToken({ resource: billing })
      const me = await (await auth.fetch('/auth/me')).json()
      const echoed = await (await auth.fetch(echo, {}, { resource: billing })).json()
      const echoedOwn = await (await auth.fetch(echo)).json()
      return { own, forBilling, again, me, echoed: echoed.bearer, echoedOwn: echoedOwn.bearer }
    }, { email: resourceEmail, password: STRONG_PASSWORD, billing: BILLING, echo: `${pageOrigin}/echo` })

    const { payload } = await jwtVerify(result.forBilling, jwks, {
      issuer: serviceUrl, audience: BILLING, typ: 'at+jwt'
    })
    t.equal(payload.aud, BILLING, 'the resource token\'s aud is exactly the resource')
    t.same(payload.roles, ['admin'], 'with the user\'s roles')
    await t.rejects(jwtVerify(result.forBilling, jwks, { issuer: serviceUrl, audience: 'http://api.test' }),
      { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' }, 'a verifier for the service audience refuses it')
    t.equal(result.again, result.forBilling, 'held in memory: asking again costs nothing')
    const own = await jwtVerify(result.own, jwks, { issuer: serviceUrl, audience: 'http://api.test' })
    t.equal(own.payload.aud, 'http://api.test', 'the default token is for the service itself')
    t.equal(result.me.user.email, resourceEmail, 'and still opens /auth/me after the resource refresh')
    t.equal(result.echoed, result.forBilling, 'client.fetch(…, { resource }) sends that resource\'s token')
    t.equal(result.echoedOwn, result.own, 'client.fetch without one sends the default token')
    t.equal(await liveTokens(resourceEmail) - before, 2, 'one login and one rotation, for the billing token')
    await page.close()
  })

  t.test('an unknown or malformed resource: AuthClientError invalid_target, and the session survives', async (t) => {
    const page = await openTab(context, pageOrigin, serviceUrl)
    await page.evaluate(async () => { await (globalThis as unknown as { auth: any }).auth.getAccessToken() })
    const before = await liveTokens(resourceEmail)
    const result = await page.evaluate(async (resources) => {
      const { AuthClientError } = await import('/client.js' as string)
      const auth = (globalThis as unknown as { auth: any }).auth
      const errors = []
      for (const resource of resources) {
        try {
          await auth.getAccessToken({ resource })
          errors.push({ resource, code: 'none' })
        } catch (error) {
          const { code, status } = error as { code: string, status: number }
          errors.push({ resource, code, status, typed: error instanceof AuthClientError })
        }
      }
      const viaFetch = await auth.fetch('/auth/me', {}, { resource: resources[0] })
        .then(() => 'resolved', (error: { code: string }) => error.code)
      const me = await auth.me()
      const changes = (globalThis as unknown as { changes: unknown[] }).changes
      return { errors, viaFetch, me, changes }
    }, [`https://unknown.example.com/${suffix}`, 'relative/path', `${BILLING}#fragment`])
    for (const error of result.errors) {
      t.same(error, { resource: error.resource, code: 'invalid_target', status: 400, typed: true }, error.resource)
    }
    t.equal(result.viaFetch, 'invalid_target', 'client.fetch with an unknown resource rejects the same way')
    t.equal(result.me?.email, resourceEmail, 'the session is alive')
    t.notOk(result.changes.includes(null), 'and was never reported lost')
    t.equal(await liveTokens(resourceEmail), before, 'nothing was rotated')
    await page.close()
  })

  t.test('two tabs asking for the same resource at once cause one rotation', async (t) => {
    const before = await liveTokens(resourceEmail)
    const tabs = await Promise.all([1, 2].map(async () => await openTab(context, pageOrigin, serviceUrl)))
    const tokens = await Promise.all(tabs.map(async (tab) => await ask(tab, INVOICES)))
    t.equal(await liveTokens(resourceEmail) - before, 1, 'exactly one rotation')
    t.equal(tokens[0], tokens[1], 'the waiting tab got the holder\'s token')
    t.equal(decodeJwt(tokens[0]!).aud, INVOICES)
    const me = await tabs[1]!.evaluate(async () => await (globalThis as unknown as { auth: any }).auth.me())
    t.equal(me?.email, resourceEmail, 'the session is still alive')
    for (const tab of tabs) await tab.close()
  })

  t.test('three tabs asking for three different tokens at once rotate one after the other, ' +
    'and the session lives', async (t) => {
    const before = await liveTokens(resourceEmail)
    const tabs = await Promise.all([1, 2, 3].map(async () => await openTab(context, pageOrigin, serviceUrl)))
    const [own, billing, invoices] = await Promise.all([ask(tabs[0]!), ask(tabs[1]!, BILLING), ask(tabs[2]!, INVOICES)])
    if (!t.ok([own, billing, invoices].every((token) => typeof token === 'string'), 'every tab got a token')) return
    t.same([own, billing, invoices].map((token) => decodeJwt(token!).aud), ['http://api.test', BILLING, INVOICES],
      'each tab got a token for what it asked')
    // Grace 0: two rotations at once (one lock per resource, say) would present one cookie twice
    // and revoke the session.
    t.equal(await liveTokens(resourceEmail) - before, 3, 'three rotations, none of them a reuse')
    const me = await tabs[0]!.evaluate(async () => await (globalThis as unknown as { auth: any }).auth.me())
    t.equal(me?.email, resourceEmail, 'the session is still alive')
    await tabs[0]!.evaluate(async () => { await (globalThis as unknown as { auth: any }).auth.logout() })
    await tabs[1]!.waitForFunction(() => (globalThis as unknown as { changes: unknown[] }).changes.includes(null))
    t.equal(await ask(tabs[1]!, BILLING), null, 'after a logout no tab holds a resource token either')
    for (const tab of tabs) await tab.close()
  })
}
