/** Why `verify` refused a token: a stable code to branch on, never a claim or the token itself. */
export type VerifierErrorCode = 'invalid_token' | 'token_revoked' | 'verifier_unavailable'

export class VerifierError extends Error {
  readonly code: VerifierErrorCode

  constructor (code: VerifierErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'VerifierError'
    this.code = code
  }
}

export const invalidToken = (message: string, cause?: unknown): VerifierError =>
  new VerifierError('invalid_token', message, { cause })

export const unavailable = (message: string, cause?: unknown): VerifierError =>
  new VerifierError('verifier_unavailable', message, { cause })
