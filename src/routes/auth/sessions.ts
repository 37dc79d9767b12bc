import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { notFound } from '../../errors.js'
import { requestContext } from '../request-context.js'
import { problemResponse } from '../../schemas/common.js'
import { bearerErrors, NoContent } from './errors.js'

const Session = Type.Object({
  id: Type.String({ format: 'uuid' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time', description: 'The absolute end of the session' }),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'True for the session of the access token making this request' })
}, { additionalProperties: false })

const sessionsRoutes: FastifyPluginAsyncTypebox = async function sessionsRoutes (fastify) {
  fastify.get('/sessions', {
    preHandler: fastify.requireAccessToken,
    schema: {
      tags: ['auth'],
      operationId: 'listSessions',
      summary: "The user's live sessions, newest first",
      security: [{ bearerAuth: [] }],
      response: { 200: Type.Object({ sessions: Type.Array(Session) }), ...bearerErrors }
    }
  }, async (request) => ({ sessions: await fastify.services.listSessions(request.caller!) }))

  fastify.delete('/sessions/:id', {
    preHandler: fastify.requireAccessToken,
    schema: {
      tags: ['auth'],
      operationId: 'revokeSession',
      summary: 'Revoke one of your sessions (for example a lost device)',
      security: [{ bearerAuth: [] }],
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
      response: { 204: NoContent, ...bearerErrors, 404: problemResponse('not_found: no such session among yours') }
    }
  }, async (request, reply) => {
    // Another user's session and no session at all look the same: nothing to learn by probing.
    const outcome = await fastify.services.revokeSession(request.caller!, request.params.id, requestContext(request))
    if (outcome === 'not_found') throw notFound('No such session')
    return await reply.code(204).send()
  })
}

export default sessionsRoutes
