import t from 'tap'
import { decodeJwt } from 'jose'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { assertOAuthError, basic, postForm } from './oauth-helpers.js'
import { loginForTokens, me, registerUser } from '../support/auth-steps.js'

t.test('RFC 7009 revocation and RFC 7662 introspection', async (t) => {
  const database = await openTestDatabase(t)
  const app = await buildTestApp(t, {}, { database })
  const client = await createServiceClient(app.db, { name: 'svc', scope: 'read write' })
  const auth = basic(client.clientId, client.clientSecret)

  const introspect = async (
    token: string, headers: Record<string, string> = auth, extra: Record<string, string> = {}
  ) =>
    await postForm(app, '/oauth/introspect', { token, ...extra }, headers)

  t.test('POST /oauth/revoke', async (t) => {
    t.test('revoking a refresh token ends its session', async (t) => {
      const user = await registerUser(app)
      const tokens = await loginForTokens(app, user)
      t.equal((await me(app, tokens.accessToken)).statusCode, 200, 'the access token works before')
      const response = await postForm(app, '/oauth/revoke', {
        token: tokens.refreshToken, token_type_hint: 'refresh_token'
      })
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.body, '', 'no body')
      t.equal(response.headers['cache-control'], 'no-store')
      t.equal((await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })).statusCode, 401,
        '/auth/refresh refuses the token')
      t.equal((await me(app, tokens.accessToken)).statusCode, 401, 'the session\'s access token is refused by /auth/me')
      const session = await database.db.selectFrom('sessions').select('revoked_at')
        .where('id', '=', tokens.sessionId).executeTakeFirstOrThrow()
      t.not(session.revoked_at, null)
    })

    t.test('an authenticated client may revoke too (form and JSON)', async (t) => {
      const first = await loginForTokens(app, await registerUser(app))
      t.equal((await postForm(app, '/oauth/revoke', { token: first.refreshToken }, auth)).statusCode, 200)
      t.equal((await postJson(app, '/auth/refresh', { refreshToken: first.refreshToken })).statusCode, 401)
      const second = await loginForTokens(app, await registerUser(app))
      const revoked = await postJson(app, '/oauth/revoke', {
        token: second.refreshToken, client_id: client.clientId, client_secret: client.clientSecret
      })
      t.equal(revoked.statusCode, 200)
      t.equal((await postJson(app, '/auth/refresh', { refreshToken: second.refreshToken })).statusCode, 401)
    })

    t.test('revoking twice, an unknown token or an access token answers 200', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      t.equal((await postForm(app, '/oauth/revoke', { token: tokens.refreshToken })).statusCode, 200)
      t.equal((await postForm(app, '/oauth/revoke', { token: tokens.refreshToken })).statusCode, 200, 'again')
      t.equal((await postForm(app, '/oauth/revoke', { token: 'unknown-token' })).statusCode, 200, 'garbage')
      t.equal((await postForm(app, '/oauth/revoke', { token: 'A'.repeat(43) })).statusCode, 200,
        'well-shaped but unknown')
      const other = await loginForTokens(app, await registerUser(app))
      const viaAccessToken = await postForm(app, '/oauth/revoke', {
        token: other.accessToken, token_type_hint: 'access_token'
      })
      t.equal(viaAccessToken.statusCode, 200, 'an access token')
    })

    t.test('a missing token → 400 invalid_request', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/revoke', {}), 400, 'invalid_request')
      assertOAuthError(t, await postForm(app, '/oauth/revoke', { token: '' }), 400, 'invalid_request')
      assertOAuthError(t, await postJson(app, '/oauth/revoke', { token_type_hint: 'refresh_token' }),
        400, 'invalid_request')
    })

    t.test('a wrong client secret → 401 invalid_client, and nothing is revoked', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const response = await postForm(app, '/oauth/revoke', { token: tokens.refreshToken },
        basic(client.clientId, 'wrong'))
      assertOAuthError(t, response, 401, 'invalid_client')
      t.match(response.headers['www-authenticate'], /^Basic /)
      assertOAuthError(t, await postForm(app, '/oauth/revoke', {
        token: tokens.refreshToken, client_id: client.clientId, client_secret: 'wrong'
      }), 401, 'invalid_client')
      t.equal((await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })).statusCode, 200,
        'the session lives on')
    })
  })

  t.test('POST /oauth/introspect', async (t) => {
    t.test('requires client authentication', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      assertOAuthError(t, await introspect(tokens.accessToken, {}), 401, 'invalid_client')
      assertOAuthError(t, await introspect(tokens.accessToken, basic(client.clientId, 'wrong')), 401, 'invalid_client')
      assertOAuthError(t, await introspect(tokens.accessToken, basic('svc_nobody', client.clientSecret)),
        401, 'invalid_client')
      assertOAuthError(t, await introspect(tokens.accessToken, {}, { client_id: client.clientId }),
        401, 'invalid_client')
      // A user's access token is not client authentication.
      assertOAuthError(t, await introspect(tokens.accessToken, { authorization: `Bearer ${tokens.accessToken}` }),
        401, 'invalid_client')
    })

    t.test('a missing token → 400 invalid_request', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/introspect', {}, auth), 400, 'invalid_request')
    })

    t.test('a live access token is active, with its claims; after logout exactly {active: false}', async (t) => {
      const user = await registerUser(app)
      const tokens = await loginForTokens(app, user)
      const claims = decodeJwt(tokens.accessToken)
      const response = await introspect(tokens.accessToken)
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.headers['cache-control'], 'no-store')
      t.match(response.headers['content-type'], /^application\/json/)
      const body = response.json()
      t.match(body, {
        active: true,
        sub: user.id,
        sid: tokens.sessionId,
        exp: claims.exp,
        iat: claims.iat,
        iss: 'http://issuer.test',
        aud: 'http://api.test',
        client_id: 'first-party',
        token_type: 'Bearer'
      })
      t.type(body.exp, 'number')
      t.type(body.iat, 'number')

      const viaBody = await introspect(tokens.accessToken, {}, {
        client_id: client.clientId, client_secret: client.clientSecret
      })
      t.equal(viaBody.json().active, true, 'client_secret_post works as well')

      t.equal((await postJson(app, '/auth/logout', { refreshToken: tokens.refreshToken })).statusCode, 204)
      const after = await introspect(tokens.accessToken)
      t.equal(after.statusCode, 200)
      t.same(after.json(), { active: false }, 'exactly {active: false}')
    })

    t.test('an access token whose session was revoked through /oauth/revoke is inactive at once', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      t.equal((await postForm(app, '/oauth/revoke', { token: tokens.refreshToken })).statusCode, 200)
      t.same((await introspect(tokens.accessToken)).json(), { active: false })
    })

    t.test('a refresh token is active until it is rotated', async (t) => {
      const user = await registerUser(app)
      const tokens = await loginForTokens(app, user)
      const live = await introspect(tokens.refreshToken, auth, { token_type_hint: 'refresh_token' })
      t.equal(live.statusCode, 200, live.body)
      t.match(live.json(), {
        active: true,
        token_type: 'refresh_token',
        sub: user.id,
        sid: tokens.sessionId,
        exp: Number,
        iat: Number,
        iss: 'http://issuer.test',
        client_id: 'first-party'
      })
      t.equal((await introspect(tokens.refreshToken)).json().active, true, 'without a hint as well')

      const rotated = await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })
      t.equal(rotated.statusCode, 200)
      t.same((await introspect(tokens.refreshToken, auth, { token_type_hint: 'refresh_token' })).json(),
        { active: false }, 'the spent token is inactive')
      t.match((await introspect(rotated.json().refreshToken as string)).json(),
        { active: true, token_type: 'refresh_token', sid: tokens.sessionId }, 'its successor is active')
    })

    t.test('garbage is {active: false}', async (t) => {
      for (const token of ['garbage', 'A'.repeat(43), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'x'.repeat(4000)]) {
        const response = await introspect(token)
        t.equal(response.statusCode, 200)
        t.same(response.json(), { active: false }, token.slice(0, 20))
      }
    })

    t.test('a client_credentials access token is active with sub = client id and no sid', async (t) => {
      const issued = await postForm(app, '/oauth/token', { grant_type: 'client_credentials', scope: 'read' }, auth)
      t.equal(issued.statusCode, 200, issued.body)
      const response = await introspect(issued.json().access_token as string)
      t.equal(response.statusCode, 200)
      const body = response.json()
      t.match(body, {
        active: true,
        sub: client.clientId,
        client_id: client.clientId,
        scope: 'read',
        iss: 'http://issuer.test',
        aud: 'http://api.test',
        exp: Number,
        iat: Number
      })
      t.notOk('sid' in body, 'no sid')
    })
  })
})
