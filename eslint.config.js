import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', '**/dist/**', 'coverage/**', '.tap/**', 'data/**', 'node_modules/**', '**/artifacts/**'] }),
  {
    rules: {
      'no-console': 'error'
    }
  }
]
