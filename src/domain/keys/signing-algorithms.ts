/** The JWS algorithms the service can sign with (JWT_ALG): the configuration schema and the key code use this list. */
export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256'] as const
export type SigningAlgorithm = typeof SIGNING_ALGORITHMS[number]
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'ES256'
