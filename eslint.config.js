import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', '**/dist/**', 'coverage/**', '.tap/**', 'data/**', 'node_modules/**', '**/artifacts/**'] }),
  {
    rules: {
      'no-console': 'error'
    }
  },
  {
    // Files that look small and read long are a defect of their own: the service and its tests wrap at 120.
    files: ['src/**/*.ts', 'test/**/*.ts'],
    rules: {
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true }]
    }
  }
]
