const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i

/**
 * The token of an `Authorization: Bearer` header (RFC 6750 §2.1), without verifying it: undefined
 * without a header, null for a header of another shape.
 */
export function parseBearer (header: string | undefined): string | undefined | null {
  if (header === undefined) return undefined
  return BEARER.exec(header)?.[1] ?? null
}
