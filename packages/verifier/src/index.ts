export { createVerifier, type AccessTokenClaims, type Verifier, type VerifierOptions } from './verifier.js'
export { VerifierError, type VerifierErrorCode } from './errors.js'
export { fastifyVerifier } from './fastify.js'
