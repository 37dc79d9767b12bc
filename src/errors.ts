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
  method_not_allowed: 405,
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
  unsupported_token_type: 400,
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
  method_not_allowed: 'Method not allowed',
  email_taken: 'Email already registered',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  internal_error: 'Internal server error',
  service_unavailable: 'Service unavailable',
  invalid_request: 'Invalid request',
  invalid_grant: 'Invalid grant',
  unsupported_grant_type: 'Unsupported grant type',
  unsupported_token_type: 'Unsupported token type',
  invalid_scope: 'Invalid scope',
  invalid_target: 'Invalid target',
  invalid_client: 'Client authentication failed'
}

export interface AppErrorOptions {
  cause?: unknown
  /** Extra response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>
}

/** A failure the client is told about. `message` becomes the problem's `detail`; `cause` is only logged. */
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

export const validationFailed = (detail: string): AppError => new AppError('validation_failed', detail)
export const emailTaken = (): AppError => new AppError('email_taken', 'An account with this email already exists')
export const invalidCredentials = (): AppError => new AppError('invalid_credentials', 'Email or password is incorrect')
export const serviceUnavailable = (detail = 'The service cannot reach its database; try again shortly', cause?: unknown): AppError =>
  new AppError('service_unavailable', detail, { cause, headers: { 'retry-after': '5' } })

/** A command refused by its operator-facing rules (a bad role, an unknown email): one line, exit 1. */
export class OperatorError extends Error {
  override name = 'OperatorError'
}
