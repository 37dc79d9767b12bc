import type { FastifyPluginAsync } from 'fastify'
import { registerStrictFormParser } from '../../lib/strict-body-parsers.js'
import introspectRoute from './introspect.js'
import revokeRoute from './revoke.js'
import { OAuthError } from './schemas.js'
import tokenRoute from './token.js'

/** Everything under /oauth. Form bodies are accepted here only, as RFC 6749 requires. */
const oauthRoutes: FastifyPluginAsync = async function oauthRoutes (fastify) {
  registerStrictFormParser(fastify)
  fastify.addSchema(OAuthError)
  await fastify.register(tokenRoute)
  await fastify.register(revokeRoute)
  await fastify.register(introspectRoute)
}

export default oauthRoutes
