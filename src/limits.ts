/**
 * Size limits of the service's input, one place each. They bound the work one request can cause
 * and what a row can hold; the README's security section lists them.
 */

/** Every request body (JSON or form): far above any legitimate request, far below a memory problem. */
export const BODY_LIMIT_BYTES = 16 * 1024

/** User agents are recorded with sessions and audit events, cut to this many characters. */
export const USER_AGENT_MAX_LENGTH = 512
