import { writeFile } from 'node:fs/promises'
import { renderOpenApiYaml } from './openapi.js'

// `npm run openapi`: regenerate the committed openapi.yaml from the route schemas.
await writeFile(new URL('../openapi.yaml', import.meta.url), await renderOpenApiYaml())
process.stdout.write('openapi.yaml written\n')
