import type { ResourceServer } from '../authorization/resources.js'
import type { AccessTokenDeps } from '../tokens/access-token.js'

/**
 * The signing parameters of one access token:
 * - for a registered resource (RFC 8707), `aud` is its URI and the lifetime at most its `ttl`;
 * - no access token outlives its session: the lifetime is shortened so that `exp` (and so
 *   `expiresIn`) falls at or before the session's absolute end, on the signer's own clock.
 */
export function accessTokenDepsFor (
  deps: AccessTokenDeps, resource: ResourceServer | undefined, sessionEnd?: Date
): AccessTokenDeps {
  let ttlSeconds = deps.ttlSeconds
  if (resource?.ttlSeconds != null) ttlSeconds = Math.min(ttlSeconds, resource.ttlSeconds)
  if (sessionEnd !== undefined) {
    const left = Math.floor((sessionEnd.getTime() - deps.clock.now().getTime()) / 1000)
    ttlSeconds = Math.max(0, Math.min(ttlSeconds, left))
  }
  const audience = resource?.uri ?? deps.audience
  if (ttlSeconds === deps.ttlSeconds && audience === deps.audience) return deps
  return { ...deps, ttlSeconds, audience }
}
