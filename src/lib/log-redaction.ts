/** The censor written in place of a secret. */
export const REDACTED = '[redacted]'

/**
 * Keys whose values are secrets wherever they appear in a logged object: credentials in headers
 * and bodies, and every token or password field of the API's two wire formats.
 */
const SECRET_KEYS = new Set([
  'authorization', 'cookie', 'set-cookie', 'password', 'currentpassword', 'newpassword', 'refreshtoken',
  'refresh_token', 'accesstoken', 'access_token', 'client_secret', 'clientsecret', 'token', 'secret'
])

// Deeper than any object the service logs; a cycle or a pathological object stops here.
const MAX_DEPTH = 8

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false
  const prototype = Object.getPrototypeOf(value) as unknown
  return prototype === Object.prototype || prototype === null
}

function redactValue (value: unknown, depth: number): unknown {
  if (depth >= MAX_DEPTH) return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    for (let index = 0; index < value.length; index++) {
      const redacted = redactValue(value[index], depth + 1)
      if (redacted !== value[index]) (copy ??= [...value])[index] = redacted
    }
    return copy ?? value
  }
  if (!isPlainObject(value)) return value
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    const original = value[key]
    const redacted = SECRET_KEYS.has(key.toLowerCase()) && original !== undefined
      ? REDACTED
      : redactValue(original, depth + 1)
    if (redacted !== original) (copy ??= { ...value })[key] = redacted
  }
  return copy ?? value
}

/**
 * The object of one log line with every secret-named key censored, at any depth, in plain objects
 * and arrays (errors and other class instances go to their serializers as they are). The caller's
 * object is never changed: what needs censoring is copied.
 *
 * Used as pino's `formatters.log`, so it runs only for lines that are written. pino's own `redact`
 * would also run on every child logger's bindings, and Fastify makes a child per request: under
 * load that was a tenth of the service's time, for bindings (the request id) that hold no secret.
 */
export function redactSecrets (object: Record<string, unknown>): Record<string, unknown> {
  return redactValue(object, 0) as Record<string, unknown>
}
