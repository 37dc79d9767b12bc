import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import { wrapPGlite } from '../../src/db/connect.js'

t.test('concurrent transactions on one PGlite never interleave', async (t) => {
  const pglite = await PGlite.create()
  t.teardown(async () => { await pglite.close() })
  const { db } = wrapPGlite(pglite)
  await sql`create table counter (n integer not null)`.execute(db)
  await sql`insert into counter values (0)`.execute(db)

  // Each transaction reads, yields to the event loop, then writes read+1. Interleaved, updates
  // would be lost; serialised, the count is exact.
  await Promise.all(Array.from({ length: 20 }, async () => {
    await db.transaction().execute(async (trx) => {
      const { n } = (await sql<{ n: number }>`select n from counter`.execute(trx)).rows[0]!
      await new Promise((resolve) => setImmediate(resolve))
      await sql`update counter set n = ${n + 1}`.execute(trx)
    })
  }))
  t.equal((await sql<{ n: number }>`select n from counter`.execute(db)).rows[0]!.n, 20)
})

t.test('a failed transaction rolls back and frees the connection', async (t) => {
  const pglite = await PGlite.create()
  t.teardown(async () => { await pglite.close() })
  const { db } = wrapPGlite(pglite)
  await sql`create table item (id integer primary key)`.execute(db)
  await t.rejects(db.transaction().execute(async (trx) => {
    await sql`insert into item values (1)`.execute(trx)
    await sql`insert into item values (1)`.execute(trx)
  }))
  t.equal((await sql<{ c: number }>`select count(*)::int as c from item`.execute(db)).rows[0]!.c, 0)
})

t.test('two Kysely handles on one PGlite share one lock', async (t) => {
  const pglite = await PGlite.create()
  t.teardown(async () => { await pglite.close() })
  const first = wrapPGlite(pglite).db
  const second = wrapPGlite(pglite).db
  await sql`create table counter (n integer not null)`.execute(first)
  await sql`insert into counter values (0)`.execute(first)
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    await (i % 2 === 0 ? first : second).transaction().execute(async (trx) => {
      const { n } = (await sql<{ n: number }>`select n from counter`.execute(trx)).rows[0]!
      await new Promise((resolve) => setImmediate(resolve))
      await sql`update counter set n = ${n + 1}`.execute(trx)
    })
  }))
  t.equal((await sql<{ n: number }>`select n from counter`.execute(first)).rows[0]!.n, 20)
})
