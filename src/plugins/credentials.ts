import fp from 'fastify-plugin'
import { createPasswordPolicy, type PasswordPolicy } from '../domain/credentials/password-policy.js'

declare module 'fastify' {
  interface FastifyInstance { passwordPolicy: PasswordPolicy }
}

/** The password policy, built once: the common-password set is loaded at start, not per request. */
export default fp(async function credentialsPlugin (fastify) {
  fastify.decorate('passwordPolicy', createPasswordPolicy())
}, { name: 'credentials', fastify: '5.x' })
