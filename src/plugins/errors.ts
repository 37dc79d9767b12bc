import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply } from 'fastify'
import { isDatabaseUnavailable } from '../db/errors.js'
import { AppError, isAppError, serviceUnavailable } from '../errors.js'
import { Problem } from '../schemas/common.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Render errors as RFC 6749 §5.2 `{error, error_description}` instead of problem+json. */
    oauthErrors?: boolean
  }
}

const PROBLEM_TYPE_BASE = 'urn:token-service:problem:'

// Fastify's own failures, by code, in the documented error codes.
const FRAMEWORK_ERRORS: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('payload_too_large', 'The request body is larger than 16 KiB'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new AppError('unsupported_media_type', 'Unsupported content type; send application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('validation_failed', 'The request body is not valid JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError('validation_failed', 'The request body is empty'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError('validation_failed', 'Content-Length does not match the body'),
  FST_ERR_CTP_MALFORMED_FORM_BODY: () => new AppError('validation_failed', 'The form body is malformed')
}

/** Translate anything thrown into an `AppError`; `undefined` means "unexpected": a bare 500. */
export function toAppError (error: FastifyError | Error): AppError | undefined {
  if (isAppError(error)) return error
  const fastifyError = error as FastifyError
  if (fastifyError.validation !== undefined) {
    return new AppError('validation_failed', `${fastifyError.validationContext ?? 'request'}${fastifyError.validation[0]?.instancePath ?? ''} ${fastifyError.validation[0]?.message ?? 'is invalid'}`.trim())
  }
  const framework = fastifyError.code === undefined ? undefined : FRAMEWORK_ERRORS[fastifyError.code]
  if (framework !== undefined) return framework()
  // 22021/22P05: text PostgreSQL cannot store (a NUL byte, an unpaired surrogate): bad input.
  if (fastifyError.code === '22021' || fastifyError.code === '22P05') return new AppError('validation_failed', 'The request contains characters that cannot be processed')
  if (isDatabaseUnavailable(error)) return serviceUnavailable(undefined, error)
  const status = fastifyError.statusCode
  if (status === 404) return new AppError('not_found', 'No such resource')
  if (status !== undefined && status >= 400 && status < 500) return new AppError('validation_failed', 'The request is malformed')
  return undefined
}

export function renderProblem (reply: FastifyReply, error: AppError): FastifyReply {
  return reply
    .code(error.statusCode)
    .headers(error.headers)
    .type('application/problem+json')
    .send({ type: PROBLEM_TYPE_BASE + error.code, title: error.title, status: error.statusCode, detail: error.message, code: error.code })
}

// Our codes in RFC 6749 §5.2 words, for errors raised by shared code on an /oauth route.
const OAUTH_EQUIVALENT: Partial<Record<AppError['code'], string>> = {
  validation_failed: 'invalid_request',
  payload_too_large: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  invalid_refresh_token: 'invalid_grant',
  refresh_token_reused: 'invalid_grant',
  session_expired: 'invalid_grant',
  csrf_rejected: 'invalid_request',
  service_unavailable: 'temporarily_unavailable',
  // RFC 6749 has no rate code; temporarily_unavailable (with Retry-After, status kept at 429) says "later".
  rate_limited: 'temporarily_unavailable',
  internal_error: 'server_error'
}

/** RFC 6749 §5.2: `{error, error_description}`, never cached. */
export function renderOAuthError (reply: FastifyReply, error: AppError): FastifyReply {
  const oauthCode = OAUTH_EQUIVALENT[error.code] ?? error.code
  // HTTP-level refusals (413, 415) keep their status; other request errors are 400 (RFC 6749 §5.2).
  const httpLevel = error.code === 'payload_too_large' || error.code === 'unsupported_media_type'
  const status = !httpLevel && (oauthCode === 'invalid_request' || oauthCode === 'invalid_grant') ? 400 : error.statusCode
  return reply
    .code(status)
    .headers(error.headers)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json')
    .send({ error: oauthCode, error_description: error.message })
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
    const appError = toAppError(error) ?? new AppError('internal_error', 'An unexpected error occurred')
    if (appError.statusCode >= 500) {
      request.log.error({ err: error }, appError.code === 'internal_error' ? 'unexpected error' : 'request failed')
    } else if (appError.cause !== undefined) {
      // Codes only: a stack trace or a token's claims per rejected request would let unauthenticated
      // traffic amplify the logs (and claims are not ours to keep).
      request.log.info({ code: appError.code, cause: causeCode(appError.cause) }, 'request rejected')
    }
    return request.routeOptions.config.oauthErrors === true ? renderOAuthError(reply, appError) : renderProblem(reply, appError)
  })

  fastify.setNotFoundHandler(function handleNotFound (request, reply) {
    return renderProblem(reply, new AppError('not_found', `No route for ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })
}, { name: 'errors', fastify: '5.x' })
