/**
 * The error catalogue of `/auth/*` and the operations endpoints (README, API summary). Each code is
 * stable and snake_case; the status it travels with is fixed here, in one place.
 */
export const ERROR_STATUS = {
  validation_failed: 400,
  weak_password: 400,
  invalid_credentials: 401,
  invalid_token: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  session_expired: 401,
  csrf_rejected: 403,
  not_found: 404,
  email_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
  // RFC 6749 §5.2 errors of the /oauth endpoints (RFC 7009 and 7662 reuse them).
  invalid_request: 400,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  // RFC 8707 §2: the resource asked for is unknown or not an absolute URI.
  invalid_target: 400,
  invalid_client: 401
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

const TITLES: Record<ErrorCode, string> = {
  validation_failed: 'Request validation failed',
  weak_password: 'Password too weak',
  invalid_credentials: 'Invalid credentials',
  invalid_token: 'Invalid access token',
  invalid_refresh_token: 'Invalid refresh token',
  refresh_token_reused: 'Refresh token reused',
  session_expired: 'Session expired',
  csrf_rejected: 'Cross-site request rejected',
  not_found: 'Not found',
  email_taken: 'Email already registered',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal_error: 'Internal server error',
  service_unavailable: 'Service unavailable',
  invalid_request: 'Invalid request',
  invalid_grant: 'Invalid grant',
  unsupported_grant_type: 'Unsupported grant type',
  invalid_scope: 'Invalid scope',
  invalid_target: 'Invalid target',
  invalid_client: 'Client authentication failed'
}

export interface AppErrorOptions {
  cause?: unknown
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>
}

/**
 * A failure the client is told about. `message` becomes the problem's `detail`; `cause` is only
 * logged. Made by the factories below, never inline.
 */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly title: string
  readonly headers: Record<string, string>

  constructor (code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.statusCode = ERROR_STATUS[code]
    this.title = TITLES[code]
    this.headers = options.headers ?? {}
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError

/** True for an AppError of this code: a caller that treats one refusal as an answer (RFC 7009, 7662). */
export const isRefusal = (error: unknown, code: ErrorCode): error is AppError =>
  error instanceof AppError && error.code === code

// Every error the service raises is made here, so each code's wording and headers live in one place.

export const validationFailed = (detail: string): AppError => new AppError('validation_failed', detail)
export const invalidRequest = (detail: string): AppError => new AppError('invalid_request', detail)
export const notFound = (detail: string): AppError => new AppError('not_found', detail)
export const emailTaken = (): AppError => new AppError('email_taken', 'An account with this email already exists')
export const weakPassword = (): AppError =>
  new AppError('weak_password', 'This password is too common; choose one that is harder to guess')
export const invalidCredentials = (): AppError => new AppError('invalid_credentials', 'Email or password is incorrect')
export const csrfRejected = (detail: string): AppError => new AppError('csrf_rejected', detail)
export const invalidTarget = (detail: string): AppError => new AppError('invalid_target', detail)
export const invalidScope = (detail: string): AppError => new AppError('invalid_scope', detail)
export const unsupportedGrantType = (): AppError =>
  new AppError('unsupported_grant_type', 'Supported grant types: refresh_token, client_credentials')
export const payloadTooLarge = (): AppError =>
  new AppError('payload_too_large', 'The request body is larger than 16 KiB')
export const unsupportedMediaType = (): AppError =>
  new AppError('unsupported_media_type', 'Unsupported content type; send application/json')
export const internalError = (): AppError => new AppError('internal_error', 'An unexpected error occurred')

/** RFC 6750 §3: a 401 for a bearer token names the scheme and the error in WWW-Authenticate. */
export const invalidToken = (detail: string, cause?: unknown): AppError =>
  new AppError('invalid_token', detail, {
    cause,
    headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${detail}"` }
  })

/** RFC 6749 §5.2: a 401 answer to a client that tried HTTP Basic names the scheme it must use. */
export const invalidClient = (detail: string, basic: boolean): AppError =>
  new AppError('invalid_client', detail,
    basic ? { headers: { 'www-authenticate': 'Basic realm="token-service", charset="UTF-8"' } } : {})

/** Too many requests (per IP) or failed attempts (per account); the client may retry after `seconds`. */
export const rateLimited = (detail: string, retryAfterSeconds: number): AppError =>
  new AppError('rate_limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } })

export const serviceUnavailable = (
  detail = 'The service cannot reach its database; try again shortly', cause?: unknown
): AppError => new AppError('service_unavailable', detail, { cause, headers: { 'retry-after': '5' } })

/**
 * Why a refresh token bought nothing, in the words of /auth/refresh (and what a frontend should
 * do: see the README). /oauth/token sends the same error as RFC 6749's invalid_grant.
 */
export function refreshRefused (kind: 'missing' | 'invalid' | 'reused' | 'expired'): AppError {
  switch (kind) {
    case 'missing':
      return new AppError('invalid_refresh_token', 'A refresh token is required, in the cookie or as {"refreshToken"}')
    case 'invalid': return new AppError('invalid_refresh_token', 'The refresh token is unknown, malformed or revoked')
    case 'reused':
      return new AppError('refresh_token_reused', 'This refresh token was already used; the session has been revoked')
    case 'expired': return new AppError('session_expired', 'The session has expired; log in again')
  }
}

/** A command refused by its operator-facing rules (a bad role, an unknown email): one line, exit 1. */
export class OperatorError extends Error {
  override name = 'OperatorError'
}
