import fp from 'fastify-plugin'
import { createPasswordPolicy, type PasswordPolicy } from '../domain/credentials/password-policy.js'
import { createPasswordHasher, type PasswordHasher } from '../domain/credentials/password.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwordPolicy: PasswordPolicy
    passwordHasher: PasswordHasher
  }
}

/** The password policy (its common-password set loaded once) and the bounded argon2 hasher. */
export default fp(async function credentialsPlugin (fastify) {
  fastify.decorate('passwordPolicy', createPasswordPolicy())
  fastify.decorate('passwordHasher', createPasswordHasher({
    maxConcurrent: fastify.config.PASSWORD_HASH_CONCURRENCY,
    maxQueued: fastify.config.PASSWORD_HASH_QUEUE
  }))
}, { name: 'credentials', dependencies: ['config'], fastify: '5.x' })
