/** The auth events the use cases count; src/plugins/metrics.ts turns them into Prometheus series. */
export type RefreshResult = 'ok' | 'reused' | 'invalid' | 'expired' | 'grace'
export type TokenGrant = 'password' | 'refresh_token' | 'client_credentials'

export interface AuthMetrics {
  loginSucceeded: () => void
  loginFailed: () => void
  refreshed: (result: RefreshResult) => void
  reuseDetected: () => void
  tokenIssued: (grant: TokenGrant) => void
}
