import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { chromium, type Locator, type Page } from 'playwright-core'
import { buildTestApp, STRONG_PASSWORD, uniqueEmail } from '../helper.js'
import { freePort } from '../support/free-port.js'

/*
 * A developer exploring the API opens Swagger UI at /docs. This drives the
 * real UI in a headless Chromium: the operations are listed, and "Try it out" on register and
 * login reaches the service and shows its answers. CI installs Chromium (Debian package
 * `chromium`) and fails without it; elsewhere the test is skipped when it is missing.
 */

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]
const STEP_TIMEOUT_MS = 5_000
const ARTIFACTS_DIR = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const SCREENSHOT = `${ARTIFACTS_DIR}swagger-ui.png`
const LISTED_PATHS = [
  '/auth/register', '/auth/login', '/auth/refresh', '/auth/me', '/.well-known/jwks.json', '/oauth/token',
  '/health/ready'
]
// Swagger UI's top-bar logo is an SVG carrying a <style> element, which the static CSP
// (style-src 'self' https:) refuses. Only the logo's colours are affected, so it is tolerated.
const COSMETIC_CSP_REPORT = new RegExp(
  '^console: Applying inline style violates the following ' + "Content Security Policy directive 'style-src "
)

/** A port nothing listens on right now, for an app whose issuer must name its own address. */

const NAME = 'Swagger UI at /docs lists the API and "Try it out" registers and logs in a user'
const chromiumMissing = !existsSync(CHROMIUM)

if (chromiumMissing && process.env.CI === 'true') {
  t.fail(`${CHROMIUM} is missing: CI must install Chromium (apt-get install -y chromium) ` +
    'for the Swagger UI browser test')
} else if (chromiumMissing) {
  t.skip(`${NAME} (skipped: ${CHROMIUM} not found; install it with "apt-get install -y chromium")`, async () => {})
} else {
  // The app starts outside the timed browser test: on a busy CI machine its start (database,
  // migrations, signing keys) is the slow part, and it is not what this test measures.
  // "Try it out" calls the document's server, the issuer: so the issuer is where the app listens.
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const app = await buildTestApp(t, { ISSUER: baseUrl, AUDIENCE: 'http://api.test' })
  await app.listen({ port, host: '127.0.0.1' })

  t.test('the /docs page is served with a CSP that still works over plain http', async (t) => {
    const response = await app.inject('/docs')
    const csp = String(response.headers['content-security-policy'] ?? '')
    t.match(csp, /script-src 'self'/, 'scripts only from the service itself')
    // upgrade-insecure-requests makes the browser fetch the UI's scripts and styles (and the
    // "Try it out" calls) over https: on http://<any non-loopback host>/docs the page stays blank.
    // Chromium exempts 127.0.0.1, which is why the browser test below cannot see it.
    t.notMatch(csp, /upgrade-insecure-requests/, 'no upgrade-insecure-requests on an http issuer')
  })

  t.test(NAME, { timeout: 60_000 }, async (t) => {
    const context = await chromium.launchPersistentContext(t.testdir(), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      timeout: 20_000,
      viewport: { width: 1280, height: 900 }
    })
    t.teardown(async () => { await context.close() })
    context.setDefaultTimeout(STEP_TIMEOUT_MS)
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS)

    const page = context.pages()[0] ?? await context.newPage()
    // Anything the page refuses (a CSP violation, a failed request, a script error) is reported.
    const pageProblems: string[] = []
    page.on('pageerror', (error) => { pageProblems.push(`page error: ${error.message}`) })
    page.on('console', (message) => { if (message.type() === 'error') pageProblems.push(`console: ${message.text()}`) })
    page.on('requestfailed', (request) => {
      pageProblems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText ?? ''}`)
    })

    try {
      const response = await page.goto(`${baseUrl}/docs`, { waitUntil: 'domcontentloaded' })
      t.equal(response?.status(), 200, '/docs answers 200')
      await page.locator('.opblock').first().waitFor({ state: 'visible' })

      await t.test('the operations list shows the endpoints', async (t) => {
        t.match(await page.locator('.info .title').innerText(), /Token service/, 'the API title')
        for (const path of LISTED_PATHS) {
          const summary = page.locator(`.opblock-summary-path[data-path="${path}"]`)
          t.ok(await summary.count() > 0, `${path} is listed`)
          // Swagger UI inserts zero-width break opportunities into long paths.
          t.equal((await summary.first().innerText()).replace(/[\u200B\s]/g, ''), path, `${path} is shown as text`)
        }
      })

      const email = uniqueEmail('swagger-ui')
      const credentials = { email, password: STRONG_PASSWORD }

      await t.test('Try it out: POST /auth/register answers 201 with the user', async (t) => {
        const result = await tryItOut(page, 'post', '/auth/register', credentials)
        t.equal(result.status, '201', `the response code is shown (${result.body.slice(0, 120)})`)
        t.match(result.body, email, 'the new user is shown')
        t.notMatch(result.body, /hash|argon2/i, 'no password hash is shown')
      })

      await t.test('Try it out: POST /auth/login with delivery "body" answers 200 with the tokens', async (t) => {
        const result = await tryItOut(page, 'post', '/auth/login', { ...credentials, delivery: 'body' })
        t.equal(result.status, '200', `the response code is shown (${result.body.slice(0, 120)})`)
        t.match(result.body, '"accessToken"', 'the access token is shown')
        t.match(result.body, '"refreshToken"', 'with delivery "body" the refresh token is in the body')
      })

      const cosmetic = pageProblems.filter((problem) => COSMETIC_CSP_REPORT.test(problem))
      if (cosmetic.length > 0) t.comment(`tolerated: ${cosmetic.length} inline-style CSP report(s) (the top-bar logo)`)
      t.same(pageProblems.filter((problem) => !COSMETIC_CSP_REPORT.test(problem)), [],
        'the page reported no errors (script or connect CSP violations, failed requests, script errors)')
    } finally {
      await mkdir(ARTIFACTS_DIR, { recursive: true })
      await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: 10_000 }).then(
        () => { t.comment(`screenshot: ${SCREENSHOT}`) },
        (error: unknown) => { t.comment(`could not save the screenshot: ${String(error)}`) }
      )
    }
  })
}

/** Expand one operation, press "Try it out", fill the JSON body, "Execute", and read what the UI shows. */
async function tryItOut (
  page: Page, method: string, path: string, body: unknown
): Promise<{ status: string, body: string }> {
  const operation: Locator = page.locator(`.opblock.opblock-${method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) })
    .first()
  await operation.locator('.opblock-summary-path').click()
  // The docs plugin sets tryItOutEnabled: false, so every operation starts read-only.
  await operation.locator('button.try-out__btn').click()
  await operation.locator('textarea.body-param__text').fill(JSON.stringify(body, null, 2))
  await operation.locator('button.execute').click()
  const live = operation.locator('.live-responses-table .response').first()
  await live.waitFor({ state: 'visible' })
  const status = (await live.locator('.response-col_status').innerText()).trim()
  const shown = await live.locator('.response-col_description').innerText()
  return { status, body: shown }
}
