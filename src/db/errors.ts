/** Classify driver errors without leaking them: the error handler turns outages into 503. */
const errorCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined

export const isUniqueViolation = (error: unknown): boolean => errorCode(error) === '23505'

// Socket errors, SQLSTATE class 08 (connection exception), 57P0x (shutdown / cannot connect now),
// 57014 (statement timeout), 53300 (too many connections) and pg-pool's own timeout/termination
// messages all mean "the database is not answering", which the client sees as 503.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  '57014', '53300', '57P01', '57P02', '57P03'
])
const UNAVAILABLE_MESSAGES = new RegExp([
  'timeout exceeded when trying to connect', 'Connection terminated', 'connection timeout',
  'Client has encountered a connection error', 'Query read timeout', 'timeout expired', 'PGlite is closed'
].join('|'), 'i')

export function isDatabaseUnavailable (error: unknown): boolean {
  const code = errorCode(error)
  if (code !== undefined && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable)
  return error instanceof Error && UNAVAILABLE_MESSAGES.test(error.message)
}
