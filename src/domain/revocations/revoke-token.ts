import { isRefusal } from '../../errors.js'
import type { RequestContext } from '../request-context.js'
import { revokeSessionOfRefreshToken, revokeUserSession, type RevocationDeps } from '../sessions/revocation.js'
import { verifyAccessToken, type AccessTokenDeps } from '../tokens/access-token.js'

export interface TokenRevocationDeps extends RevocationDeps { accessTokens: AccessTokenDeps }

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/

/**
 * RFC 7009 revocation of either kind of token. A refresh token revokes its session; so does a user
 * access token (the RFC's SHOULD): an access token that still verifies names its session in `sid`,
 * and revoking that session is what stops it everywhere (the revocation feed carries the session).
 * Anything else (unknown, forged, expired, a client_credentials token without a session) revokes
 * nothing, and the caller still gets its 200. Returns the session revoked, if any.
 */
export async function revokeByToken (
  deps: TokenRevocationDeps, token: string, context: RequestContext
): Promise<string | undefined> {
  if (!JWT_SHAPE.test(token)) {
    return (await revokeSessionOfRefreshToken(deps, token, 'token_revoked', context))?.sessionId
  }
  const claims = await verifyAccessToken(deps.accessTokens, token).catch((error: unknown) => {
    // A token that does not verify is simply not revocable; a failing database is still a 503.
    if (isRefusal(error, 'invalid_token')) return undefined
    throw error
  })
  if (claims?.sid === undefined) return undefined
  return await revokeUserSession(deps, claims.sub, claims.sid, 'token_revoked', context) ? claims.sid : undefined
}
