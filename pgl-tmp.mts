import { PGlite } from '@electric-sql/pglite'
import { wrapPGlite } from './src/db/connect.js'
import { migrateToLatest } from './src/db/migrator.js'
let t0 = performance.now()
const pg = await PGlite.create()
console.log('create', performance.now() - t0); t0 = performance.now()
const h = wrapPGlite(pg)
await migrateToLatest(h.db)
console.log('migrate', performance.now() - t0); t0 = performance.now()
const dump = await pg.dumpDataDir('none')
console.log('dump', performance.now() - t0, dump.size); t0 = performance.now()
const pg2 = await PGlite.create({ loadDataDir: dump })
await pg2.query('select count(*) from users')
console.log('load', performance.now() - t0)
