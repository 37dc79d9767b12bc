import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { requestContext } from '../request-context.js'
import { Email, Password, problemResponse, Resource } from '../../schemas/common.js'
import { commonErrors } from './errors.js'
import { sendTokens } from './token-response.js'

const LoginBody = Type.Object({
  email: Email,
  password: Password,
  delivery: Type.Optional(Type.Enum(['cookie', 'body'], {
    default: 'cookie',
    description: '"cookie" (default): the refresh token only in an httpOnly cookie; "body": only in the JSON'
  })),
  resource: Type.Optional(Resource)
}, {
  additionalProperties: false,
  examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', delivery: 'body' }]
})

const loginRoute: FastifyPluginAsyncTypebox = async function loginRoute (fastify) {
  fastify.post('/login', {
    config: { rateLimit: fastify.rateLimits.login },
    schema: {
      tags: ['auth'],
      operationId: 'login',
      security: [],
      summary: 'Log in with email and password; starts a session',
      description: 'Unknown email and wrong password answer alike. Repeated failures for one account back off ' +
        'exponentially (429 with Retry-After).',
      body: LoginBody,
      response: {
        200: Type.Ref('TokenResponse'),
        ...commonErrors,
        400: problemResponse('validation_failed, or invalid_target: resource unknown or not an absolute URI'),
        401: problemResponse('invalid_credentials'),
        429: problemResponse('rate_limited: too many attempts from this IP or for this account; see Retry-After')
      }
    }
  }, async (request, reply) => {
    const { email, password, delivery, resource } = request.body
    const input = { email, password, delivery: delivery === 'body' ? 'body' as const : 'cookie' as const, resource }
    return sendTokens(reply, fastify.config, await fastify.services.login(input, requestContext(request)))
  })
}

export default loginRoute
