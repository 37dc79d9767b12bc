// The example frontend: every call goes through the browser client; the access token never
// leaves its memory, the refresh token is the service's httpOnly cookie.
import { createAuthClient } from '/client.js'

const auth = createAuthClient({ baseUrl: window.SERVICE_URL ?? 'http://localhost:3000' })
const $ = (id) => document.getElementById(id)

function showError (error) {
  $('error').textContent = error === null ? '' : `${error.message} (${error.code ?? 'error'}, ${error.status ?? '-'})`
}

async function render (user) {
  $('signed-in').hidden = user === null
  $('credentials').hidden = user !== null
  if (user === null) return
  $('who').textContent = user.email
  const me = await auth.fetch('/auth/me')
  $('me').textContent = JSON.stringify(await me.json(), null, 2)
  const { sessions } = await (await auth.fetch('/auth/sessions')).json()
  $('sessions').replaceChildren(...sessions.map((session) => {
    const row = document.createElement('tr')
    for (const text of [new Date(session.createdAt).toLocaleString(), session.userAgent ?? '']) {
      const cell = document.createElement('td')
      cell.textContent = text
      row.append(cell)
    }
    const cell = document.createElement('td')
    const revoke = document.createElement('button')
    revoke.textContent = session.current ? 'this one (log out)' : 'revoke'
    revoke.onclick = () => run(async () => {
      if (session.current) return await auth.logout()
      await auth.fetch(`/auth/sessions/${session.id}`, { method: 'DELETE' })
      await render(user)
    })
    cell.append(revoke)
    row.append(cell)
    return row
  }))
}

async function run (action) {
  showError(null)
  try { await action() } catch (error) { showError(error) }
}

$('credentials').addEventListener('submit', (event) => {
  event.preventDefault()
  const email = $('email').value
  const password = $('password').value
  run(async () => {
    if (event.submitter?.dataset.action === 'register') await auth.register(email, password)
    await auth.login(email, password)
  })
})
$('logout').onclick = () => run(async () => { await auth.logout() })
$('logout-all').onclick = () => run(async () => { await auth.logoutAll() })

// Login, logout and session loss, in this tab or another one of this origin.
auth.onChange((user) => { run(async () => { await render(user) }) })
run(async () => { await render(await auth.me()) })
