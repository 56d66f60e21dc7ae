// Lint for every package (nx target `lint`): typescript-eslint's recommended rules, plus
// `node:` specifiers for built-ins (Deno needs them) and no console in libraries.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.config.ts', 'packages/*/scripts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: builtinModules.filter((m) => !m.startsWith('_')).map((name) => ({ name, message: `Use 'node:${name}'.` })) }],
    },
  },
  {
    files: ['packages/core/src/**', 'packages/docker-driver/src/**', 'packages/cni-*/src/**', 'packages/addons/src/**', 'images/src/**'],
    rules: { 'no-console': 'error' },
  },
);
