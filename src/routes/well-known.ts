import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

/** How long verifiers may cache the JWKS; the next key is published far longer in advance. */

const Jwk = Type.Object({
  kty: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.Literal('sig'),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String())
}, { additionalProperties: false, description: 'A public signing key (RFC 7517); private members never appear' })

// The schema's members in its order: the bytes fast-json-stringify wrote from the schema, and no
// other member (a private `d` above all) can reach the body even if a stored JWK carried one.
const JWK_MEMBERS = ['kty', 'kid', 'alg', 'use', 'crv', 'x', 'y', 'n', 'e'] as const

function serializeJwks (keys: ReadonlyArray<Record<string, unknown>>): string {
  return JSON.stringify({
    keys: keys.map((key) => Object.fromEntries(JWK_MEMBERS.filter((name) => key[name] !== undefined)
      .map((name) => [name, key[name]])))
  })
}

type JwksBody = { keys: Array<{ kty: string, kid: string, alg: string, use: 'sig' }> }

const wellKnownRoutes: FastifyPluginAsyncTypebox = async function wellKnownRoutes (fastify) {
  const { config } = fastify
  const cacheControl = `public, max-age=${config.JWKS_MAX_AGE_SECONDS}`
  let serialized = { etag: '', body: '' }

  fastify.get('/.well-known/jwks.json', {
    schema: {
      tags: ['keys'],
      operationId: 'jwks',
      security: [],
      summary: 'Public signing keys (JWKS): the current key, the next key, and retired keys whose tokens may ' +
        'still be live',
      description: 'Served from memory (it keeps answering while the database is down). Cacheable; supports ' +
        'If-None-Match.',
      response: {
        200: Type.Object({ keys: Type.Array(Jwk) }),
        304: Type.Unsafe<undefined>({ description: 'Not modified (ETag matched)' })
      }
    }
  }, async (request, reply) => {
    const { document, etag } = fastify.keys.jwks()
    reply.header('cache-control', cacheControl).header('etag', etag)
    const ifNoneMatch = request.headers['if-none-match']
    if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => {
      const trimmed = tag.trim()
      return trimmed === '*' || trimmed.replace(/^W\//, '') === etag
    })) {
      return await reply.code(304).send()
    }
    // Serialized once per key-ring version (its ETag), not per request.
    if (serialized.etag !== etag) serialized = { etag, body: serializeJwks(document.keys) }
    // A string body skips the response serializer (the schema stays, for the API docs).
    return await reply.type('application/json; charset=utf-8').send(serialized.body as unknown as JwksBody)
  })

  const metadata = {
    issuer: config.ISSUER,
    jwks_uri: `${config.ISSUER}/.well-known/jwks.json`,
    token_endpoint: `${config.ISSUER}/oauth/token`,
    revocation_endpoint: `${config.ISSUER}/oauth/revoke`,
    introspection_endpoint: `${config.ISSUER}/oauth/introspect`,
    revocations_endpoint: `${config.ISSUER}/revocations`,
    revocations_stream_endpoint: `${config.ISSUER}/revocations/stream`,
    grant_types_supported: ['refresh_token', 'client_credentials'],
    // No authorization endpoint: users authenticate through /auth/login.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    access_token_signing_alg_values_supported: [config.JWT_ALG],
    service_documentation: `${config.ISSUER}/docs`
  }

  fastify.get('/.well-known/openid-configuration', {
    schema: {
      tags: ['keys'],
      operationId: 'discovery',
      security: [],
      summary: 'Authorization server metadata (RFC 8414) for OAuth client libraries',
      response: { 200: Type.Object({ issuer: Type.String(), jwks_uri: Type.String() }, { additionalProperties: true }) }
    }
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=3600')
    return metadata
  })
}

export default wellKnownRoutes
