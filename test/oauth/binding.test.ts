import t from 'tap'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { buildTestApp, openTestDatabase } from '../helper.js'
import { sha256 } from '../sessions/session-helpers.js'
import { createTestClock } from '../support/test-clock.js'
import { assertOAuthError, basic, postForm } from './oauth-helpers.js'
import { login, loginForTokens, refreshCookieOf, refreshWithCookie, registerUser } from '../support/auth-steps.js'

const refreshGrant = (refreshToken: string): Record<string, string> =>
  ({ grant_type: 'refresh_token', refresh_token: refreshToken })

t.test('/oauth/token refresh: a token belongs to its session\'s client and delivery', async (t) => {
  const database = await openTestDatabase(t)
  const clock = createTestClock()
  const app = await buildTestApp(t, {}, { database, clock })
  const service = await createServiceClient(app.db, { name: 'other-service', scope: 'read' })
  const spentAt = async (token: string): Promise<Date | null> => (await database.db.selectFrom('refresh_tokens')
    .select('spent_at').where('token_hash', '=', sha256(token)).executeTakeFirstOrThrow()).spent_at

  t.test('another authenticated client gets invalid_grant, and the token is not spent', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    const refused = await postForm(app, '/oauth/token', refreshGrant(tokens.refreshToken),
      basic(service.clientId, service.clientSecret))
    assertOAuthError(t, refused, 400, 'invalid_grant')
    t.equal(await spentAt(tokens.refreshToken), null, 'not spent')
    const session = await database.db.selectFrom('sessions').select('revoked_at')
      .where('id', '=', tokens.sessionId).executeTakeFirstOrThrow()
    t.equal(session.revoked_at, null, 'and the session lives on')
    const owner = await postForm(app, '/oauth/token', refreshGrant(tokens.refreshToken))
    t.equal(owner.statusCode, 200, 'the session\'s own client still refreshes with it')
  })

  t.test('another client presenting a spent token does not revoke the session (it learns nothing)', async (t) => {
    const tokens = await loginForTokens(app, await registerUser(app))
    const next = await postForm(app, '/oauth/token', refreshGrant(tokens.refreshToken))
    t.equal(next.statusCode, 200)
    // An hour later the spent token is far outside the grace window.
    clock.advance(3600)
    const refused = await postForm(app, '/oauth/token', refreshGrant(tokens.refreshToken),
      basic(service.clientId, service.clientSecret))
    assertOAuthError(t, refused, 400, 'invalid_grant')
    const current = await postForm(app, '/oauth/token', refreshGrant(next.json().refresh_token))
    t.equal(current.statusCode, 200, 'the family was not revoked by a foreign client')
  })

  t.test('a cookie-delivery session\'s token gets invalid_grant, and is not spent', async (t) => {
    const response = await login(app, await registerUser(app), 'cookie')
    t.equal(response.statusCode, 200, response.body)
    const cookie = refreshCookieOf(response)!.value
    const refused = await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: cookie })
    assertOAuthError(t, refused, 400, 'invalid_grant')
    t.notMatch(refused.body, cookie, 'the token is not echoed')
    t.equal(await spentAt(cookie), null, 'not spent')
    const browser = await refreshWithCookie(app, cookie)
    t.equal(browser.statusCode, 200, 'the browser\'s own silent refresh still works')
  })
})
