import type { FastifyPluginAsync } from 'fastify'
import loginRoute from './login.js'
import logoutRoutes from './logout.js'
import meRoute from './me.js'
import passwordRoute from './password.js'
import refreshRoute from './refresh.js'
import registerRoute from './register.js'
import sessionsRoutes from './sessions.js'
import { TokenResponse } from './token-response.js'

/** Everything under /auth. */
const authRoutes: FastifyPluginAsync = async function authRoutes (fastify) {
  fastify.addSchema(TokenResponse)
  await fastify.register(registerRoute)
  await fastify.register(loginRoute)
  await fastify.register(refreshRoute)
  await fastify.register(logoutRoutes)
  await fastify.register(meRoute)
  await fastify.register(sessionsRoutes)
  await fastify.register(passwordRoute)
}

export default authRoutes
