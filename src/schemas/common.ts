import { Type } from 'typebox'

/** RFC 9457 problem details, as every `/auth/*` and operations error is answered. */
export const Problem = Type.Object({
  type: Type.String({ description: 'A URI naming the kind of problem' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String({ description: 'Stable snake_case error code, e.g. `invalid_credentials`' })
}, {
  $id: 'Problem',
  description: 'RFC 9457 problem details (`application/problem+json`)',
  examples: [{
    type: 'urn:token-service:problem:invalid_credentials',
    title: 'Invalid credentials',
    status: 401,
    detail: 'Email or password is incorrect',
    code: 'invalid_credentials'
  }]
})

/** A response entry for an error status, documented as problem+json. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } }
})

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String({ format: 'email' }),
  createdAt: Type.String({ format: 'date-time' })
}, {
  $id: 'User',
  additionalProperties: false,
  examples: [{
    id: '01936d2e-7f00-7a1c-8b2d-0e5f6a7b8c9d', email: 'ada@example.com', createdAt: '2026-11-22T09:00:00.000Z'
  }]
})

export const Email = Type.String({
  minLength: 1, maxLength: 320, description: 'Trimmed and lowercased; at most 254 characters after that'
})
export const Password = Type.String({
  minLength: 1, maxLength: 4096, description: '8 to 1024 characters after Unicode NFKC normalisation'
})

/**
 * RFC 8707 resource indicator. Unbounded here: a malformed or unknown one is `invalid_target`, not
 * a schema error.
 */
export const Resource = Type.String({
  description: 'The registered resource server (absolute URI, no fragment) the access token is for: ' +
    'it becomes `aud`, and its ttl caps the lifetime. Without it, `aud` is this service\'s own audience.',
  examples: ['https://billing.example.com']
})
