/**
 * How many cookies named `name` a raw Cookie header carries. Cookie parsers keep one of them (the
 * first), so a duplicate planted by a sibling subdomain (cookie tossing: Domain=.example.com) could
 * silently take the place of the real one; callers refuse the request instead of guessing.
 */
export function countCookies (header: string | undefined, name: string): number {
  if (header === undefined || header === '') return 0
  let count = 0
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=')
    const key = (equals === -1 ? pair : pair.slice(0, equals)).trim()
    if (key === name) count++
  }
  return count
}
