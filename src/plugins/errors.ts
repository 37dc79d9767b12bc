import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { isDatabaseUnavailable } from '../db/errors.js'
import {
  internalError, isAppError, notFound, payloadTooLarge, serviceUnavailable, unsupportedMediaType, validationFailed,
  type AppError
} from '../errors.js'
import { renderOAuthError } from '../routes/wire/oauth-error.js'
import { renderProblem } from '../routes/wire/problem-json.js'
import { Problem } from '../schemas/common.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Render errors as RFC 6749 §5.2 `{error, error_description}` instead of problem+json. */
    oauthErrors?: boolean
  }
}

// Fastify's own failures, by code, in the documented error codes.
const FRAMEWORK_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: payloadTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: unsupportedMediaType,
  FST_ERR_CTP_INVALID_JSON_BODY: () => validationFailed('The request body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => validationFailed('The request body is empty'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => validationFailed('Content-Length does not match the body'),
  FST_ERR_CTP_MALFORMED_FORM_BODY: () => validationFailed('The form body is malformed')
}

/** Translate anything thrown into an `AppError`; `undefined` means "unexpected": a bare 500. */
export function toAppError (error: FastifyError | Error): AppError | undefined {
  if (isAppError(error)) return error
  const fastifyError = error as FastifyError
  if (fastifyError.validation !== undefined) {
    const first = fastifyError.validation[0]
    const where = `${fastifyError.validationContext ?? 'request'}${first?.instancePath ?? ''}`
    return validationFailed(`${where} ${first?.message ?? 'is invalid'}`.trim())
  }
  const framework = fastifyError.code === undefined ? undefined : FRAMEWORK_ERRORS[fastifyError.code]
  if (framework !== undefined) return framework()
  // 22021/22P05: text PostgreSQL cannot store (a NUL byte, an unpaired surrogate): bad input.
  if (fastifyError.code === '22021' || fastifyError.code === '22P05') {
    return validationFailed('The request contains characters that cannot be processed')
  }
  if (isDatabaseUnavailable(error)) return serviceUnavailable(undefined, error)
  const status = fastifyError.statusCode
  if (status === 404) return notFound('No such resource')
  if (status !== undefined && status >= 400 && status < 500) return validationFailed('The request is malformed')
  return undefined
}

function causeCode (cause: unknown): string | undefined {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * The one error handler. Every failure leaves as problem+json (or an RFC 6749 error on routes that
 * ask for it); unexpected errors are logged in full and answered with a bare 500, so no stack
 * trace, SQL, hash or token ever reaches a client.
 */
export default fp(async function errorsPlugin (fastify) {
  fastify.addSchema(Problem)

  fastify.setErrorHandler(function handleError (error: FastifyError, request, reply) {
    const appError = toAppError(error) ?? internalError()
    if (appError.statusCode >= 500) {
      request.log.error({ err: error }, appError.code === 'internal_error' ? 'unexpected error' : 'request failed')
    } else if (appError.cause !== undefined) {
      // Codes only: a stack trace or a token's claims per rejected request would let unauthenticated
      // traffic amplify the logs (and claims are not ours to keep).
      request.log.info({ code: appError.code, cause: causeCode(appError.cause) }, 'request rejected')
    }
    const oauth = request.routeOptions.config.oauthErrors === true
    return oauth ? renderOAuthError(reply, appError) : renderProblem(reply, appError)
  })

  fastify.setNotFoundHandler(function handleNotFound (request, reply) {
    return renderProblem(reply, notFound(`No route for ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })
}, { name: 'errors', fastify: '5.x' })
