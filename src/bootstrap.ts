import { ConfigError, loadConfigFromEnvironment, type Config } from './config.js'

/**
 * What every entry point (the server and each command) does first: the configuration of this
 * process, or exit code 1 with one line `<name>: <what is wrong>` and no stack trace.
 */
export function loadConfigOrExit (name: string): Config {
  try {
    return loadConfigFromEnvironment()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${name}: ${error.message}\n`)
    process.exit(1)
  }
}
