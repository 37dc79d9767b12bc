import fp from 'fastify-plugin'
import { createServices, type Services } from '../services/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every use case, one function each (src/services): what the /auth and /oauth routes call. */
    services: Services
  }
}

/** Builds the service layer once, from the configuration, the app's clock and the shared parts. */
export default fp(async function servicesPlugin (fastify) {
  fastify.decorate('services', createServices({
    config: fastify.config,
    db: fastify.db,
    clock: fastify.clock,
    keys: fastify.keys,
    hasher: fastify.passwordHasher,
    passwordPolicy: fastify.passwordPolicy,
    metrics: fastify.metrics
  }))
}, { name: 'services', dependencies: ['config', 'db', 'keys', 'credentials', 'metrics'], fastify: '5.x' })
