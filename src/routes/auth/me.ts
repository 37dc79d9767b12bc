import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
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
    // Read with the session by the guard. A deleted user, or a sub that is not the session's user, has no profile here.
    const user = request.caller!.user
    if (user === undefined) throw invalidToken('The access token does not belong to a user')
    return { user: toPublicUser(user) }
  })
}

export default meRoute
