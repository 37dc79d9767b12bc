import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import type { LoginDeps } from '../domain/credentials/login.js'
import type { SessionDeps } from '../domain/sessions/deps.js'
import type { AccessTokenDeps } from '../domain/tokens/access-token.js'
import { createSecretBox } from '../lib/secret-box.js'

declare module 'fastify' {
  interface FastifyInstance {
    accessTokenDeps: AccessTokenDeps
    sessionDeps: SessionDeps
    loginDeps: LoginDeps
  }
}

/** Wires the token and session rules to the configuration, once. */
export default fp(async function sessionsPlugin (fastify) {
  const { config } = fastify
  await fastify.register(cookie)
  const accessTokenDeps: AccessTokenDeps = {
    keys: fastify.keys,
    clock: fastify.clock,
    issuer: config.ISSUER,
    audience: config.AUDIENCE,
    ttlSeconds: config.ACCESS_TOKEN_TTL
  }
  fastify.decorate('accessTokenDeps', accessTokenDeps)
  fastify.decorate('sessionDeps', {
    db: fastify.db,
    clock: fastify.clock,
    successorBox: createSecretBox(config.KEY_ENCRYPTION_SECRET ?? '', 'refresh-token-successor'),
    policy: { graceSeconds: config.REFRESH_REUSE_GRACE_SECONDS, idleSeconds: config.SESSION_IDLE_TTL },
    accessTokens: accessTokenDeps,
    sessionTtlSeconds: config.REFRESH_TOKEN_TTL,
    maxSessionsPerUser: config.MAX_SESSIONS_PER_USER
  })
  fastify.decorate('loginDeps', {
    db: fastify.db,
    clock: fastify.clock,
    throttle: { freeFailures: config.LOGIN_FAILURES_BEFORE_BACKOFF, maxBackoffSeconds: config.LOGIN_BACKOFF_MAX_SECONDS },
    hasher: fastify.passwordHasher
  })
}, { name: 'sessions', dependencies: ['config', 'db', 'keys'], fastify: '5.x' })
