import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Email, Password, problemResponse } from '../../schemas/common.js'

const RegisterBody = Type.Object({ email: Email, password: Password }, {
  additionalProperties: false,
  examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }]
})

const registerRoute: FastifyPluginAsyncTypebox = async function registerRoute (fastify) {
  fastify.post('/register', {
    config: { rateLimit: fastify.rateLimits.register },
    schema: {
      tags: ['auth'],
      operationId: 'register',
      security: [],
      summary: 'Create an account',
      description: 'Emails are trimmed and lowercased; passwords are 8 to 1024 characters after NFKC and must not ' +
        'be among the most common passwords.',
      body: RegisterBody,
      response: {
        201: Type.Object({ user: Type.Ref('User') }),
        400: problemResponse('validation_failed or weak_password'),
        409: problemResponse('email_taken'),
        413: problemResponse('payload_too_large'),
        415: problemResponse('unsupported_media_type'),
        429: problemResponse('rate_limited'),
        503: problemResponse('service_unavailable')
      }
    }
  }, async (request, reply) => {
    return await reply.code(201).send({ user: await fastify.services.register(request.body) })
  })
}

export default registerRoute
