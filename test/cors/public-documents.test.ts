import type { AddressInfo } from 'node:net'
import t from 'tap'
import { buildTestApp } from '../helper.js'
import {
  ALLOWED_ORIGINS, APP_ORIGIN, assertNoCors, assertPublicResponse, FOREIGN_ORIGIN, preflight
} from './cors-assertions.js'

/*
 * Keys, discovery and the revocation feed are public: any origin may read them, with
 * `Access-Control-Allow-Origin: *` and never credentials, listed in ALLOWED_ORIGINS or not.
 */

const DOCUMENTS = ['/.well-known/jwks.json', '/.well-known/openid-configuration', '/revocations']

t.test('CORS on the public documents', async (t) => {
  const app = await buildTestApp(t, { ALLOWED_ORIGINS })

  t.test('every origin, and a request without one, reads them with * and no credentials', async (t) => {
    for (const url of DOCUMENTS) {
      for (const origin of [FOREIGN_ORIGIN, APP_ORIGIN, undefined]) {
        const response = await app.inject({ method: 'GET', url, headers: origin === undefined ? {} : { origin } })
        t.equal(response.statusCode, 200, `${url} from ${origin ?? 'no origin'}`)
        assertPublicResponse(t, response)
        t.match(response.headers['access-control-expose-headers'], /\bETag\b/,
          'ETag is readable, for conditional requests')
      }
    }
  })

  t.test('a 304 and an error answer carry them too', async (t) => {
    const first = await app.inject({
      method: 'GET', url: '/.well-known/jwks.json', headers: { origin: FOREIGN_ORIGIN }
    })
    const notModified = await app.inject({
      method: 'GET',
      url: '/.well-known/jwks.json',
      headers: { origin: FOREIGN_ORIGIN, 'if-none-match': String(first.headers.etag) }
    })
    t.equal(notModified.statusCode, 304)
    assertPublicResponse(t, notModified)
    const badCursor = await app.inject({
      method: 'GET', url: '/revocations?since=not-a-cursor', headers: { origin: FOREIGN_ORIGIN }
    })
    t.equal(badCursor.statusCode, 400)
    assertPublicResponse(t, badCursor)
  })

  t.test('a preflight (conditional request, SSE resumption) answers 204 with * and no credentials', async (t) => {
    for (const url of [...DOCUMENTS, '/revocations/stream']) {
      const response = await preflight(app, url, 'GET', FOREIGN_ORIGIN, 'if-none-match, last-event-id')
      t.equal(response.statusCode, 204, `${url}: 204`)
      assertPublicResponse(t, response)
      t.match(response.headers['access-control-allow-headers'], /if-none-match/)
      t.match(response.headers['access-control-allow-headers'], /last-event-id/)
      t.ok(Number(response.headers['access-control-max-age']) <= 7200, 'Max-Age at most 7200')
    }
  })

  t.test('paths that only look like them get nothing', async (t) => {
    for (const url of ['/revocations-extra', '/.well-knownx/jwks.json', '/health/live']) {
      assertNoCors(t, await app.inject({ method: 'GET', url, headers: { origin: FOREIGN_ORIGIN } }))
    }
  })

  t.test('the revocation stream answers any origin with *', async (t) => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const aborter = new AbortController()
    const response = await fetch(`http://127.0.0.1:${port}/revocations/stream`, {
      headers: { origin: FOREIGN_ORIGIN }, signal: aborter.signal
    })
    aborter.abort()
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/event-stream/)
    t.equal(response.headers.get('access-control-allow-origin'), '*')
    t.equal(response.headers.get('access-control-allow-credentials'), null, 'no Allow-Credentials')
  })
})

t.test('an OPTIONS without Origin on a public document is a 204, never a bare text/plain 400', async (t) => {
  const app = await buildTestApp(t)
  for (const url of ['/.well-known/openid-configuration', '/.well-known/jwks.json', '/revocations']) {
    const response = await app.inject({ method: 'OPTIONS', url })
    t.equal(response.statusCode, 204, url)
  }
})
