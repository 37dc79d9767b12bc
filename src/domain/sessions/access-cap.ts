import type { AccessTokenDeps } from '../tokens/access-token.js'

/**
 * No access token outlives its session: the lifetime is shortened so that `exp` (and so
 * `expiresIn`) falls at or before the session's absolute end, on the signer's own clock.
 */
export function accessTokenDepsWithin (deps: AccessTokenDeps, sessionEnd: Date): AccessTokenDeps {
  const left = Math.floor((sessionEnd.getTime() - deps.clock.now().getTime()) / 1000)
  if (left >= deps.ttlSeconds) return deps
  return { ...deps, ttlSeconds: Math.max(0, left) }
}
