import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
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
  }, async (request) => ({ user: fastify.services.me(request.caller!) }))
}

export default meRoute
