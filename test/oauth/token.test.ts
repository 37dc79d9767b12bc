import { createHash } from 'node:crypto'
import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { createServiceClient } from '../../src/domain/clients/clients.js'
import { buildTestApp, openTestDatabase, postJson } from '../helper.js'
import { assertOAuthError, basic, postForm } from './oauth-helpers.js'
import { loginForTokens, me, registerUser } from '../support/auth-steps.js'

const ISSUER = 'http://issuer.test'
const AUDIENCE = 'http://api.test'
const ACCESS_TOKEN_CHECKS = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' }

t.test('POST /oauth/token', async (t) => {
  const database = await openTestDatabase(t)
  // No grace: a spent token presented again is always reuse.
  const app = await buildTestApp(t, { REFRESH_REUSE_GRACE_SECONDS: 0 }, { database })
  const client = await createServiceClient(app.db, { name: 'svc', scope: 'read write' })

  const jwks = async (): Promise<ReturnType<typeof createLocalJWKSet>> => {
    const response = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    if (response.statusCode !== 200) throw new Error(`GET /.well-known/jwks.json answered ${response.statusCode}`)
    return createLocalJWKSet(response.json() as JSONWebKeySet)
  }

  t.test('refresh_token grant', async (t) => {
    t.test('a form request rotates the refresh token and answers in RFC 6749 §5.1 words', async (t) => {
      const user = await registerUser(app)
      const tokens = await loginForTokens(app, user)
      const response = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      })
      t.equal(response.statusCode, 200, response.body)
      t.match(response.headers['content-type'], /^application\/json/)
      t.equal(response.headers['cache-control'], 'no-store')
      const body = response.json()
      t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'],
        'exactly the RFC 6749 members')
      t.equal(body.token_type, 'Bearer')
      t.equal(body.expires_in, 900)
      t.type(body.access_token, 'string')
      t.type(body.refresh_token, 'string')
      t.not(body.refresh_token, tokens.refreshToken, 'a new refresh token')
      const { payload } = await jwtVerify(body.access_token, await jwks(), ACCESS_TOKEN_CHECKS)
      t.equal(payload.sub, user.id)
      t.equal(payload.sid, tokens.sessionId, 'the same session')
      const profile = await me(app, body.access_token)
      t.equal(profile.statusCode, 200, 'the new access token works on /auth/me')
      const next = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: body.refresh_token
      })
      t.equal(next.statusCode, 200, 'the new refresh token rotates again')
    })

    t.test('a JSON request works as well', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const response = await postJson(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      })
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.headers['cache-control'], 'no-store')
      t.match(response.json(), {
        access_token: String, token_type: 'Bearer', expires_in: Number, refresh_token: String
      })
    })

    t.test('the old refresh token presented again is reuse: invalid_grant, and the session is revoked', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const rotated = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      })
      t.equal(rotated.statusCode, 200)
      const newest = rotated.json().refresh_token as string

      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      }), 400, 'invalid_grant')
      const session = await database.db.selectFrom('sessions').select(['revoked_at', 'revoked_reason'])
        .where('id', '=', tokens.sessionId).executeTakeFirstOrThrow()
      t.not(session.revoked_at, null, 'the session is revoked')

      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: newest
      }), 400, 'invalid_grant')
      const viaAuth = await postJson(app, '/auth/refresh', { refreshToken: newest })
      t.equal(viaAuth.statusCode, 401, 'POST /auth/refresh refuses the newest token of the family too')
      t.match(viaAuth.headers['content-type'], /^application\/problem\+json/, '/auth keeps problem+json')
    })

    t.test('a refresh token rotated through /auth/refresh is reuse on /oauth/token (one rule set)', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      t.equal((await postJson(app, '/auth/refresh', { refreshToken: tokens.refreshToken })).statusCode, 200)
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      }), 400, 'invalid_grant')
    })

    t.test('a logged-out session gives invalid_grant', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      t.equal((await postJson(app, '/auth/logout', { refreshToken: tokens.refreshToken })).statusCode, 204)
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      }), 400, 'invalid_grant')
    })

    t.test('a missing refresh_token is invalid_request', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', { grant_type: 'refresh_token' }), 400, 'invalid_request')
      assertOAuthError(t, await postForm(app, '/oauth/token', { grant_type: 'refresh_token', refresh_token: '' }),
        400, 'invalid_request')
    })

    t.test('a garbage refresh token is invalid_grant', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: 'garbage'
      }), 400, 'invalid_grant')
      // Well-shaped (43 base64url characters) but unknown.
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: 'A'.repeat(43)
      }), 400, 'invalid_grant')
    })

    t.test('a confidential client refreshing with a wrong secret is invalid_client', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const response = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      }, basic(client.clientId, 'wrong'))
      assertOAuthError(t, response, 401, 'invalid_client')
      t.match(response.headers['www-authenticate'], /^Basic /)
      const still = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: tokens.refreshToken
      })
      t.equal(still.statusCode, 200, 'the refresh token was not spent by the refused request')
    })
  })

  t.test('grant_type', async (t) => {
    t.test('missing → invalid_request', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', { refresh_token: 'x' }), 400, 'invalid_request')
      assertOAuthError(t, await postJson(app, '/oauth/token', {}), 400, 'invalid_request')
    })
    const unsupported = ['password', 'authorization_code', 'urn:ietf:params:oauth:grant-type:device_code', 'implicit']
    for (const grantType of unsupported) {
      t.test(`${grantType} → unsupported_grant_type`, async (t) => {
        assertOAuthError(t, await postForm(app, '/oauth/token', {
          grant_type: grantType, username: 'a@b.co', password: 'x', code: 'c'
        }), 400, 'unsupported_grant_type')
      })
    }
    t.test('repeated in the form → invalid_request (RFC 6749 §3.2)', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const params = new URLSearchParams([
        ['grant_type', 'refresh_token'], ['grant_type', 'refresh_token'], ['refresh_token', tokens.refreshToken]
      ])
      assertOAuthError(t, await postForm(app, '/oauth/token', params), 400, 'invalid_request')
    })
    t.test('a repeated refresh_token → invalid_request', async (t) => {
      const params = new URLSearchParams([
        ['grant_type', 'refresh_token'], ['refresh_token', 'A'.repeat(43)], ['refresh_token', 'B'.repeat(43)]
      ])
      assertOAuthError(t, await postForm(app, '/oauth/token', params), 400, 'invalid_request')
    })
  })

  t.test('request format', async (t) => {
    t.test('unknown extra parameters are ignored', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const form = await postForm(app, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: tokens.refreshToken,
        foo: 'bar',
        state: 'xyz',
        redirect_uri: 'https://example.com/cb'
      })
      t.equal(form.statusCode, 200, form.body)
      const json = await postJson(app, '/oauth/token', {
        grant_type: 'refresh_token', refresh_token: form.json().refresh_token, extra: 'ignored'
      })
      t.equal(json.statusCode, 200, json.body)
    })

    t.test('a JSON body sent as text/plain → 415 invalid_request, not problem+json', async (t) => {
      const tokens = await loginForTokens(app, await registerUser(app))
      const response = await app.inject({
        method: 'POST',
        url: '/oauth/token',
        payload: JSON.stringify({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken }),
        headers: { 'content-type': 'text/plain' }
      })
      assertOAuthError(t, response, 415, 'invalid_request')
    })

    t.test('malformed JSON → invalid_request', async (t) => {
      assertOAuthError(t, await app.inject({
        method: 'POST', url: '/oauth/token', payload: '{"grant_type": ', headers: { 'content-type': 'application/json' }
      }), 400, 'invalid_request')
    })

    t.test('a non-string parameter in JSON → invalid_request', async (t) => {
      assertOAuthError(t, await postJson(app, '/oauth/token', { grant_type: 'client_credentials', scope: ['read'] }),
        400, 'invalid_request')
    })
  })

  t.test('client_credentials grant', async (t) => {
    const asClient = basic(client.clientId, client.clientSecret)

    t.test('HTTP Basic → an access token with sub = client_id = the client, no refresh token, ' +
      'the registered scope', async (t) => {
      const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, asClient)
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.headers['cache-control'], 'no-store')
      const body = response.json()
      t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'no refresh_token')
      t.equal(body.token_type, 'Bearer')
      t.equal(body.expires_in, 900)
      t.equal(body.scope, 'read write')

      const { payload, protectedHeader } = await jwtVerify(body.access_token, await jwks(), ACCESS_TOKEN_CHECKS)
      t.equal(protectedHeader.typ, 'at+jwt')
      t.equal(protectedHeader.alg, 'ES256')
      t.type(protectedHeader.kid, 'string')
      t.equal(payload.sub, client.clientId)
      t.equal(payload.client_id, client.clientId)
      t.equal(payload.scope, 'read write')
      t.notOk('sid' in payload, 'no sid')
      t.type(payload.jti, 'string')
      t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 900)
    })

    t.test('the secret in the body (client_secret_post) works too, form and JSON', async (t) => {
      const form = await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret
      })
      t.equal(form.statusCode, 200, form.body)
      t.equal(form.json().scope, 'read write')
      const json = await postJson(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret
      })
      t.equal(json.statusCode, 200, json.body)
      const { payload } = await jwtVerify(json.json().access_token, await jwks(), ACCESS_TOKEN_CHECKS)
      t.equal(payload.sub, client.clientId)
    })

    t.test('scope=read narrows the grant to read', async (t) => {
      const response = await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', scope: 'read'
      }, asClient)
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.json().scope, 'read')
      const { payload } = await jwtVerify(response.json().access_token, await jwks(), ACCESS_TOKEN_CHECKS)
      t.equal(payload.scope, 'read')
    })

    t.test('a scope the client does not have → invalid_scope', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', scope: 'admin'
      }, asClient), 400, 'invalid_scope')
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', scope: 'read admin'
      }, asClient), 400, 'invalid_scope')
    })

    t.test('a wrong secret over Basic → 401 invalid_client with WWW-Authenticate: Basic', async (t) => {
      const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' },
        basic(client.clientId, `${client.clientSecret}x`))
      assertOAuthError(t, response, 401, 'invalid_client')
      t.match(response.headers['www-authenticate'], /^Basic /)
    })

    t.test('a wrong secret in the body → 401 invalid_client', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'wrong'
      }), 401, 'invalid_client')
    })

    t.test('an unknown client → 401 invalid_client', async (t) => {
      const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' },
        basic('svc_nobody', client.clientSecret))
      assertOAuthError(t, response, 401, 'invalid_client')
      t.match(response.headers['www-authenticate'], /^Basic /)
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: 'svc_nobody', client_secret: 'x'
      }), 401, 'invalid_client')
    })

    t.test('no credentials → 401 invalid_client', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }),
        401, 'invalid_client')
      assertOAuthError(t, await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: client.clientId
      }), 401, 'invalid_client')
    })

    t.test('both HTTP Basic and client_secret in the body → 400 invalid_request', async (t) => {
      const response = await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret
      }, asClient)
      assertOAuthError(t, response, 400, 'invalid_request')
    })

    t.test('a Bearer Authorization header is not client authentication → invalid_client', async (t) => {
      assertOAuthError(t, await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, {
        authorization: 'Bearer abc'
      }), 401, 'invalid_client')
    })

    t.test('a client id and secret with reserved characters survive the Basic form-urlencoding', async (t) => {
      // Registered directly, with the same SHA-256 storage createServiceClient uses, so the id may hold ':' and '%'.
      const clientId = `svc:odd/id%${Date.now()}`
      const clientSecret = 'se:cr et+%/ü'
      await database.db.insertInto('oauth_clients').values({
        client_id: clientId,
        secret_hash: createHash('sha256').update(clientSecret, 'utf8').digest('base64url'),
        name: 'odd',
        scope: 'a:b c/d'
      }).execute()
      const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials', scope: 'a:b' },
        basic(clientId, clientSecret))
      t.equal(response.statusCode, 200, response.body)
      t.equal(response.json().scope, 'a:b')
      const { payload } = await jwtVerify(response.json().access_token, await jwks(), ACCESS_TOKEN_CHECKS)
      t.equal(payload.sub, clientId)
      const viaBody = await postForm(app, '/oauth/token', {
        grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret
      })
      t.equal(viaBody.statusCode, 200, 'and in the body, where the form encoding is the transport\'s own')
    })

    t.test('the access token of a client is signed by a kid in the JWKS', async (t) => {
      const response = await postForm(app, '/oauth/token', { grant_type: 'client_credentials' }, asClient)
      const kid = decodeProtectedHeader(response.json().access_token).kid
      const jwksDocument = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
      const keys = jwksDocument.keys as Array<{ kid: string }>
      t.ok(keys.some((key) => key.kid === kid))
    })
  })
})
