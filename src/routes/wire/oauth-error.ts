import type { FastifyReply } from 'fastify'
import type { AppError, ErrorCode } from '../../errors.js'

// Our codes in RFC 6749 §5.2 words: the one mapping of the /oauth wire format, so a refusal raised
// by shared code (the refresh path, the body parsers, the database check) reads as OAuth there.
const OAUTH_EQUIVALENT: Partial<Record<ErrorCode, string>> = {
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
  const requestError = oauthCode === 'invalid_request' || oauthCode === 'invalid_grant'
  const status = !httpLevel && requestError ? 400 : error.statusCode
  return reply
    .code(status)
    .headers(error.headers)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json')
    .send({ error: oauthCode, error_description: error.message })
}
