import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { authenticate } from '../../domain/credentials/login.js'
import { resolveResource } from '../../domain/authorization/resources.js'
import { startSession } from '../../domain/sessions/start-session.js'
import { AppError } from '../../errors.js'
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
}, { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', delivery: 'body' }] })

const loginRoute: FastifyPluginAsyncTypebox = async function loginRoute (fastify) {
  fastify.post('/login', {
    config: { rateLimit: fastify.rateLimits.login },
    schema: {
      tags: ['auth'],
      operationId: 'login',
      security: [],
      summary: 'Log in with email and password; starts a session',
      description: 'Unknown email and wrong password answer alike. Repeated failures for one account back off exponentially (429 with Retry-After).',
      body: LoginBody,
      response: {
        200: Type.Ref('TokenResponse'),
        ...commonErrors,
        400: problemResponse('validation_failed, weak input, or invalid_target: resource unknown or not an absolute URI'),
        401: problemResponse('invalid_credentials'),
        429: problemResponse('rate_limited: too many attempts from this IP or for this account; see Retry-After')
      }
    }
  }, async (request, reply) => {
    const context = requestContext(request)
    // An unknown resource is refused before the password is checked: nothing is spent or issued.
    const resource = await resolveResource(fastify.db, request.body.resource)
    let userId: string
    try {
      ({ userId } = await authenticate(fastify.loginDeps, request.body, context))
    } catch (error) {
      if (error instanceof AppError && error.code === 'invalid_credentials') fastify.metrics.loginFailed()
      throw error
    }
    const tokens = await startSession(fastify.sessionDeps, {
      userId,
      clientId: fastify.config.FIRST_PARTY_CLIENT_ID,
      delivery: request.body.delivery === 'body' ? 'body' : 'cookie',
      resource,
      context
    })
    fastify.metrics.loginSucceeded()
    fastify.metrics.tokenIssued('password')
    return sendTokens(reply, fastify.config, tokens)
  })
}

export default loginRoute
