import { Type } from 'typebox'
import { problemResponse } from '../../schemas/common.js'

/** Error responses shared by the /auth routes, for their OpenAPI contracts. */
export const commonErrors = {
  400: problemResponse('validation_failed: malformed JSON, a schema violation or an unknown property'),
  413: problemResponse('payload_too_large: the body is over 16 KiB'),
  415: problemResponse('unsupported_media_type: the body is not application/json'),
  503: problemResponse('service_unavailable: the database does not answer; retry after Retry-After')
}

export const bearerErrors = {
  401: problemResponse('invalid_token: missing, malformed, expired or forged access token, or its session has ' +
    'ended (with WWW-Authenticate: Bearer error="invalid_token")'),
  503: commonErrors[503]
}

export const NoContent = Type.Unsafe<undefined>({ description: 'No content' })
