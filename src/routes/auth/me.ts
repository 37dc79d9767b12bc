import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { findUserById } from '../../db/repositories/users.js'
import { invalidToken } from '../../domain/tokens/access-token.js'
import { toPublicUser } from '../../domain/users.js'
import { bearerErrors } from './errors.js'

const meRoute: FastifyPluginAsyncTypebox = async function meRoute (fastify) {
  fastify.get('/me', {
    preHandler: fastify.requireAccessToken,
    schema: {
      tags: ['auth'],
      operationId: 'me',
      summary: 'The user of the access token',
      security: [{ bearerAuth: [] }],
      response: { 200: Type.Object({ user: Type.Ref('User') }), ...bearerErrors }
    }
  }, async (request) => {
    const user = await findUserById(fastify.db, request.caller!.sub)
    // A client_credentials token (sub = client id) or a deleted user has no profile here.
    if (user === undefined) throw invalidToken('The access token does not belong to a user')
    return { user: toPublicUser(user) }
  })
}

export default meRoute
