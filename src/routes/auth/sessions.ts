import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { findLiveSessionsOfUser } from '../../db/repositories/sessions.js'
import { isSessionLive } from '../../domain/sessions/liveness.js'
import { revokeUserSession } from '../../domain/sessions/revocation.js'
import { AppError } from '../../errors.js'
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const sessionsRoutes: FastifyPluginAsyncTypebox = async function sessionsRoutes (fastify) {
  const deps = { db: fastify.db, clock: fastify.sessionDeps.clock }

  fastify.get('/sessions', {
    preHandler: fastify.requireAccessToken,
    schema: {
      tags: ['auth'],
      operationId: 'listSessions',
      summary: "The user's live sessions, newest first",
      security: [{ bearerAuth: [] }],
      response: { 200: Type.Object({ sessions: Type.Array(Session) }), ...bearerErrors }
    }
  }, async (request) => {
    const caller = request.caller!
    const now = deps.clock.now()
    const sessions = (await findLiveSessionsOfUser(fastify.db, caller.sub, now))
      .filter((session) => isSessionLive(session, now, fastify.config.SESSION_IDLE_TTL))
      .map((session) => ({
        id: session.id,
        createdAt: session.created_at.toISOString(),
        lastUsedAt: session.last_used_at.toISOString(),
        expiresAt: session.expires_at.toISOString(),
        userAgent: session.user_agent,
        ip: session.ip,
        current: session.id === caller.sid
      }))
    return { sessions }
  })

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
    const { id } = request.params
    // Another user's session and no session at all look the same: nothing to learn by probing.
    const revoked = UUID.test(id) && await revokeUserSession(deps, request.caller!.sub, id.toLowerCase(), 'session_revoked', requestContext(request))
    if (!revoked) throw new AppError('not_found', 'No such session')
    return await reply.code(204).send()
  })
}

export default sessionsRoutes
