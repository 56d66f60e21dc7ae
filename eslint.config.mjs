// Lint for every package (nx target `lint`): typescript-eslint's recommended rules, plus
// `node:` specifiers for built-ins (Deno needs them), no console in libraries, and the rooms of
// the monorepo kept apart (docs/design/overview.md): core imports no other package of the
// project, a plugin package and the verification package import core only, and inside
// @local-cluster/verify a feature folder reaches another only through its index.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const builtins = builtinModules.filter((m) => !m.startsWith('_')).map((name) => ({ name, message: `Use 'node:${name}'.` }));

/** no-restricted-imports with the built-in rule and these patterns (a later rule entry replaces an earlier one). */
const restricted = (...patterns) => ['error', { paths: builtins, patterns }];

/** Every package of the project but core (the imports a package that may use core alone must not make). */
const notCore = {
  group: ['@local-cluster/*', '!@local-cluster/core', '!@local-cluster/core/*', 'local-cluster', 'local-cluster/*'],
  message: 'This package depends on @local-cluster/core only (see docs/design/overview.md).',
};

export const ROOM_RULES = [
  {
    files: ['packages/core/src/**'],
    rules: {
      'no-restricted-imports': restricted({
        group: ['@local-cluster/*', 'local-cluster', 'local-cluster/*'],
        message: 'Core imports no other package of the project: it defines the contracts they implement (see docs/design/overview.md).',
      }),
    },
  },
  {
    files: ['packages/cni-*/src/**', 'packages/addons/src/**', 'packages/docker-driver/src/**', 'packages/verify/src/**'],
    rules: { 'no-restricted-imports': restricted(notCore) },
  },
  ...['conformance', 'netcheck', 'quick-checks'].map((folder) => ({
    files: [`packages/verify/src/${folder}/**`],
    rules: {
      'no-restricted-imports': restricted(notCore, {
        regex: `^\\.\\./(?!${folder}/)[\\w-]+/(?!index\\.js$)`,
        message: `A feature folder of @local-cluster/verify reaches another only through its index.js.`,
      }),
    },
  })),
];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.config.ts', 'packages/*/scripts/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: builtins }],
    },
  },
  {
    files: ['packages/core/src/**', 'packages/docker-driver/src/**', 'packages/cni-*/src/**', 'packages/addons/src/**', 'packages/verify/src/**', 'images/src/**'],
    rules: { 'no-console': 'error' },
  },
  ...ROOM_RULES,
);
