import type { FastifyPluginAsync } from 'fastify'
import registerRoute from './register.js'

/** Everything under /auth. */
const authRoutes: FastifyPluginAsync = async function authRoutes (fastify) {
  await fastify.register(registerRoute)
}

export default authRoutes
