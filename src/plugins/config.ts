import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import type { Clock } from '../lib/clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The one clock of this app (see buildApp): every rule that reads the time reads this. */
    clock: Clock
  }
}

/** Makes the already-validated configuration, and the app's clock, available to every plugin. */
export default fp<{ config: Config, clock: Clock }>(async function configPlugin (fastify, opts) {
  fastify.decorate('config', opts.config)
  fastify.decorate('clock', opts.clock)
}, { name: 'config', fastify: '5.x' })
