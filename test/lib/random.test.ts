import t from 'tap'
import { newId } from '../../src/lib/random.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('newId: UUID v7 with the given milliseconds first, distinct across pool refills', async (t) => {
  const now = Date.UTC(2026, 0, 1)
  const ids = Array.from({ length: 1000 }, () => newId(now))
  t.ok(ids.every((id) => UUID_V7.test(id)), 'version 7, RFC 9562 variant')
  t.ok(ids.every((id) => id.replace(/-/g, '').startsWith(now.toString(16).padStart(12, '0'))), 'the timestamp leads')
  t.equal(new Set(ids).size, ids.length, 'no two ids alike, across several refills of the random pool')
  t.equal(new Set(ids.map((id) => id.slice(15))).size, ids.length, 'the random part differs (not only the time)')
})
