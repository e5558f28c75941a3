// Lint: typescript-eslint's recommended rules plus a hard failure on import cycles,
// because dependencies must point inward (api -> engine -> domain, store behind ports).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  // Built output (the server's dist/, the dashboard's and the examples' Vite builds) is not linted.
  { ignores: ['node_modules/**', '**/dist/**', '.herald/**', 'coverage/**', 'test-results/**'] },
  ...tseslint.configs.recommended,
  // Teaches import-x that .ts files are modules to follow (otherwise no-cycle sees nothing).
  importX.flatConfigs.typescript,
  {
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
);
