/** Revocations are of no use once no access token of the session can still be unexpired. */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 900
const MARGIN_SECONDS = 60

/**
 * The revoked session ids the kit knows, each kept for the longest access-token lifetime it has
 * seen (at least 15 minutes) plus a margin: memory is bounded by the revocations of that window.
 */
export class RevokedSessions {
  // Insertion order is (nearly) revocation order, so pruning stops at the first young entry.
  private readonly revokedAt = new Map<string, number>()
  private longestLifetime = DEFAULT_TOKEN_LIFETIME_SECONDS

  constructor (private readonly clockToleranceSeconds: number) {}

  get size (): number { return this.revokedAt.size }

  add (sid: string, revokedAtSeconds: number): void {
    if (!this.revokedAt.has(sid)) this.revokedAt.set(sid, revokedAtSeconds)
  }

  has (sid: string): boolean { return this.revokedAt.has(sid) }

  /** Called with each verified token's lifetime (exp − iat), so longer-lived tokens are covered. */
  noteLifetime (seconds: number): void {
    if (Number.isFinite(seconds) && seconds > this.longestLifetime) this.longestLifetime = seconds
  }

  prune (nowSeconds: number): void {
    const oldest = nowSeconds - this.longestLifetime - MARGIN_SECONDS - this.clockToleranceSeconds
    for (const [sid, at] of this.revokedAt) {
      if (at >= oldest) break
      this.revokedAt.delete(sid)
    }
  }
}
