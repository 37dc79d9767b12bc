import t from 'tap'
import { buildTestApp, openTestDatabase } from '../helper.js'
import { assertOAuthError, postForm } from './oauth-helpers.js'

/** /oauth speaks RFC 6749 even when it refuses for rate: `rate_limited` is not an RFC 6749 error. */
t.test('/oauth 429s use an RFC 6749 error code, with Retry-After', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, { RATE_LIMIT_ENABLED: true, RATE_LIMIT_TOKEN_MAX: 2 }, { database })
  for (const [url, params] of [
    ['/oauth/token', { grant_type: 'refresh_token', refresh_token: 'A'.repeat(43) }],
    ['/oauth/revoke', { token: 'A'.repeat(43) }]
  ] as const) {
    for (let i = 0; i < 2; i++) t.not((await postForm(app, url, params)).statusCode, 429, `${url}: request ${i + 1}`)
    const refused = await postForm(app, url, params)
    assertOAuthError(t, refused, 429, 'temporarily_unavailable')
    t.ok(Number(refused.headers['retry-after']) >= 1, `${url}: Retry-After in seconds`)
  }
})
