import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
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

/** Serves an empty page and the built client module: the frontend's own origin. */
async function startPageServer (): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(CLIENT_MODULE))
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
}
