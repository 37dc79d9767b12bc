import type { FastifyReply } from 'fastify'
import type { AppError } from '../../errors.js'

const PROBLEM_TYPE_BASE = 'urn:token-service:problem:'

/** The /auth and operations wire format: RFC 9457 problem+json, with our stable `code`. */
export function renderProblem (reply: FastifyReply, error: AppError): FastifyReply {
  return reply
    .code(error.statusCode)
    .headers(error.headers)
    .type('application/problem+json')
    .send({
      type: PROBLEM_TYPE_BASE + error.code,
      title: error.title,
      status: error.statusCode,
      detail: error.message,
      code: error.code
    })
}
