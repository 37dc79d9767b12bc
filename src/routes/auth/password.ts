import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { requestContext } from '../request-context.js'
import { Password, problemResponse } from '../../schemas/common.js'
import { commonErrors, NoContent } from './errors.js'

const PasswordBody = Type.Object({ currentPassword: Password, newPassword: Password }, {
  additionalProperties: false
})

const passwordRoute: FastifyPluginAsyncTypebox = async function passwordRoute (fastify) {
  fastify.post('/password', {
    preHandler: fastify.requireAccessToken,
    config: { rateLimit: fastify.rateLimits.login },
    schema: {
      tags: ['auth'],
      operationId: 'changePassword',
      summary: 'Change the password (re-authenticating with the current one); every other session is revoked',
      security: [{ bearerAuth: [] }],
      body: PasswordBody,
      response: {
        204: NoContent,
        ...commonErrors,
        400: problemResponse('validation_failed or weak_password (the new password)'),
        401: problemResponse('invalid_token, or invalid_credentials when the current password is wrong'),
        429: problemResponse(
          'rate_limited: too many attempts from this IP or wrong current passwords for this account')
      }
    }
  }, async (request, reply) => {
    await fastify.services.changePassword(request.caller!, request.body, requestContext(request))
    return await reply.code(204).send()
  })
}

export default passwordRoute
