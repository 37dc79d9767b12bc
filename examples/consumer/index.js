// A resource server owned by another team. It trusts the token service's access tokens by
// verifying them offline against the published JWKS: no call to the token service per request.
import { createPublicKey } from 'node:crypto'
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import buildGetJwks from 'get-jwks'

export async function buildConsumer ({ issuer, audience, jwksBaseUrl, logger = false }) {
  const app = Fastify({ logger })
  // Fetches <jwksBaseUrl>/.well-known/jwks.json and caches each key by kid; a new kid (after a
  // key rotation) triggers one fresh fetch. Keys are only ever taken from this one base URL.
  const getJwks = buildGetJwks({ issuersWhitelist: [jwksBaseUrl], ttl: 5 * 60_000, timeout: 5_000 })

  await app.register(fastifyJwt, {
    decode: { complete: true }, // the secret callback needs the header (kid, alg)
    // getJwk + node:crypto rather than getPublicKey: get-jwks converts with jwk-to-pem, which
    // cannot read the Ed25519 (OKP) keys of JWT_ALG=EdDSA.
    secret: async (_request, token) => {
      try {
        const jwk = await getJwks.getJwk({ kid: token.header.kid, alg: token.header.alg, domain: jwksBaseUrl })
        return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
      } catch (error) {
        // A kid the JWKS does not publish is a bad token (401); an unreachable JWKS stays a 5xx.
        if (error.code === 'JWK_NOT_FOUND') throw Object.assign(new Error('Unknown signing key'), { statusCode: 401 })
        throw error
      }
    },
    verify: {
      algorithms: ['ES256', 'EdDSA', 'RS256'], // asymmetric only: never none or HS*
      allowedIss: issuer,
      allowedAud: audience, // a token minted for another API is refused
      requiredClaims: ['exp', 'sub']
    }
  })

  // Every protected route verifies the Bearer token first; request.user is then its claims.
  app.get('/hello', { onRequest: async (request) => { await request.jwtVerify() } }, async (request) => {
    return { hello: request.user.sub }
  })
  return app
}
