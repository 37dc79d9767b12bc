// `npm run example:spa`: the token service on http://localhost:3000 (embedded database, development
// keys) and this page on http://localhost:5173 — another origin of the same site, as a real SPA.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'

const PAGE_PORT = Number(process.env.SPA_PORT ?? 5173)
const SERVICE_PORT = Number(process.env.PORT ?? 3000)
const pageOrigin = `http://localhost:${PAGE_PORT}`
const serviceUrl = `http://localhost:${SERVICE_PORT}`
const here = (path) => fileURLToPath(new URL(path, import.meta.url))

const FILES = {
  '/': [here('./index.html'), 'text/html; charset=utf-8'],
  '/app.js': [here('./app.js'), 'text/javascript'],
  '/client.js': [here('../../packages/client/dist/index.js'), 'text/javascript']
}

const service = spawn(process.execPath, [here('../../dist/src/server.js')], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PORT: String(SERVICE_PORT),
    ISSUER: process.env.ISSUER ?? serviceUrl,
    ALLOWED_ORIGINS: pageOrigin,
    // Plain http on localhost: browsers other than Chromium drop Secure cookies there.
    COOKIE_SECURE: 'false'
  }
})
service.on('exit', (code) => { process.exit(code ?? 1) })

const page = createServer(async (request, response) => {
  const file = FILES[new URL(request.url ?? '/', pageOrigin).pathname]
  if (file === undefined) return response.writeHead(404).end('not found')
  let body = await readFile(file[0], 'utf8')
  if (file[0].endsWith('index.html')) {
    body = body.replace('<script type="module"', `<script>window.SERVICE_URL = ${JSON.stringify(serviceUrl)}</script>\n  <script type="module"`)
  }
  response.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(body)
})
page.listen(PAGE_PORT, 'localhost', () => {
  process.stdout.write(`example SPA on ${pageOrigin} (token service on ${serviceUrl})\n`)
})

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { page.close(); service.kill('SIGTERM') })
}
