// A resource server owned by another team. It trusts the token service's access tokens by
// verifying them offline with the verifier kit: no call to the token service per request, and a
// revoked session's tokens are refused within seconds (the kit follows the revocation feed).
import Fastify from 'fastify'
import { fastifyVerifier } from '@token-service/verifier'

export async function buildConsumer ({ issuer, audience, revocations, failMode, maxStalenessSeconds, logger = false }) {
  const app = Fastify({ logger })
  // Discovery, the JWKS and the revocation feed are all found from the issuer's address.
  await app.register(fastifyVerifier, { issuer, audience, revocations, failMode, maxStalenessSeconds })

  // Every protected route runs requireAccessToken first; request.accessToken is then the claims.
  app.get('/hello', { preHandler: app.requireAccessToken }, async (request) => {
    return { hello: request.accessToken.sub }
  })
  return app
}
