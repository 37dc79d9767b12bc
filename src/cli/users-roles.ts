import { changeRoles } from '../domain/authorization/roles.js'
import { parseCommandLine, refuse, runWithDatabase } from './context.js'

// `npm run -s users:roles -- --email ada@example.com --add admin --remove billing:read`: change a
// user's roles (both flags repeat; neither prints the roles as they are). Prints one JSON object
// {"email", "roles"} with the roles sorted. The change reaches the user's next access token, at
// the next login or refresh.
const NAME = 'users:roles'
const values = parseCommandLine(NAME, {
  email: { type: 'string' }, add: { type: 'string', multiple: true }, remove: { type: 'string', multiple: true }
})
if (values.email === undefined) {
  refuse(NAME, 'usage: users:roles --email <email> [--add <role>]… [--remove <role>]…')
} else {
  const email = values.email
  await runWithDatabase(NAME, async (_config, database) => {
    const result = await changeRoles(database.db, email, { add: values.add ?? [], remove: values.remove ?? [] })
    process.stdout.write(`${JSON.stringify(result)}\n`)
  })
}
