import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import { buildTestApp, openTestDatabase } from '../helper.js'
import { ALGORITHMS, TEST_ISSUER } from '../tokens/token-fixtures.js'
import { registerAndLogin } from '../support/auth-steps.js'

/*
 * RFC 8414 authorization server metadata, so that OAuth client libraries
 * (openid-client) can discover the token, revocation and introspection endpoints and the JWKS.
 */

async function getMetadata (app: FastifyInstance): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
}

t.test('GET /.well-known/openid-configuration', async (t) => {
  const database = await openTestDatabase(t)

  t.test('describes this issuer with every endpoint under it', async (t) => {
    const app = await buildTestApp(t, {}, { database })
    const response = await getMetadata(app)
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^application\/json/)
    const metadata = response.json()
    t.equal(metadata.issuer, TEST_ISSUER, 'issuer is the configured ISSUER')
    t.equal(metadata.jwks_uri, `${TEST_ISSUER}/.well-known/jwks.json`)
    t.equal(metadata.token_endpoint, `${TEST_ISSUER}/oauth/token`)
    t.equal(metadata.revocation_endpoint, `${TEST_ISSUER}/oauth/revoke`)
    t.equal(metadata.introspection_endpoint, `${TEST_ISSUER}/oauth/introspect`)
    t.ok(Array.isArray(metadata.response_types_supported), 'response_types_supported is present (REQUIRED by RFC 8414)')
  })

  t.test('advertises the refresh_token and client_credentials grants and how clients authenticate', async (t) => {
    const app = await buildTestApp(t, {}, { database })
    const metadata = (await getMetadata(app)).json()
    t.ok(metadata.grant_types_supported.includes('refresh_token'))
    t.ok(metadata.grant_types_supported.includes('client_credentials'))
    const authMethods = metadata.token_endpoint_auth_methods_supported
    t.ok(Array.isArray(authMethods) && authMethods.length > 0, 'token_endpoint_auth_methods_supported')
    t.ok(authMethods.includes('client_secret_basic'), 'HTTP Basic, the RFC 6749 default')
    for (const method of metadata.token_endpoint_auth_methods_supported) {
      t.not(method, 'none', 'the token endpoint never accepts unauthenticated service clients')
    }
  })

  t.test('the issuer in the metadata is the iss of the access tokens', async (t) => {
    const app = await buildTestApp(t, {}, { database })
    const metadata = (await getMetadata(app)).json()
    const { accessToken } = await registerAndLogin(app)
    t.equal(decodeJwt(accessToken).iss, metadata.issuer, 'openid-client compares them exactly')
  })

  t.test('jwks_uri names the route that serves the JWKS', async (t) => {
    const app = await buildTestApp(t, {}, { database })
    const metadata = (await getMetadata(app)).json()
    const jwks = await app.inject({ method: 'GET', url: new URL(metadata.jwks_uri).pathname })
    t.equal(jwks.statusCode, 200)
    t.ok(jwks.json().keys.length >= 2)
  })

  t.test('the advertised token, revocation and introspection endpoints are served, not 404', async (t) => {
    const app = await buildTestApp(t, {}, { database })
    const metadata = (await getMetadata(app)).json()
    for (const name of ['token_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
      const response = await app.inject({
        method: 'POST',
        url: new URL(metadata[name]).pathname,
        payload: '',
        headers: { 'content-type': 'application/x-www-form-urlencoded' }
      })
      t.ok(
        [400, 401].includes(response.statusCode),
        `${name}: an empty request is refused by the endpoint itself (${response.statusCode})`
      )
      t.match(response.json(), { error: String }, `${name}: an RFC 6749 error body`)
    }
  })

  for (const alg of ALGORITHMS) {
    t.test(`advertises the signing algorithm in use (${alg})`, async (t) => {
      const app = await buildTestApp(t, { JWT_ALG: alg }, { database })
      const metadata = (await getMetadata(app)).json()
      t.same(metadata.access_token_signing_alg_values_supported, [alg])
    })
  }

  t.test('an ISSUER with a trailing slash or a path gives well-formed endpoints under it', async (t) => {
    const issuers = [
      ['https://auth.example.com/', 'https://auth.example.com'],
      ['https://example.com/tenants/acme', 'https://example.com/tenants/acme']
    ] as const
    for (const [configured, issuer] of issuers) {
      const app = await buildTestApp(t, { ISSUER: configured }, { database })
      const metadata = (await getMetadata(app)).json()
      t.equal(metadata.issuer, issuer, `${configured} is published as ${issuer}`)
      for (const name of ['jwks_uri', 'token_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
        t.ok(metadata[name].startsWith(`${issuer}/`), `${name} is under the issuer`)
        t.notMatch(new URL(metadata[name]).pathname, /\/\//, `${name} has no empty path segment`)
      }
      await app.close()
    }
  })
})
