import nx from '@nx/eslint-plugin';
import jest from 'eslint-plugin-jest';

/**
 * Module boundaries (docs/architecture.md#boundaries): every project carries a
 * scope tag (which system) and a type tag (which layer). Dependencies point one
 * way: app → feature → data-access → domain → contracts, with util usable from
 * all of them; scope X may use X and the platform only.
 */
const typeRules = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:domain', 'type:contracts', 'type:util'] },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:domain', 'type:contracts', 'type:util'],
  },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:contracts', 'type:util'] },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:contracts', 'type:util'] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:contracts', 'type:util', 'type:testing'],
  },
];
const scopeRules = [
  { sourceTag: 'scope:platform', onlyDependOnLibsWithTags: ['scope:platform'] },
  { sourceTag: 'scope:notifications', onlyDependOnLibsWithTags: ['scope:notifications', 'scope:platform'] },
  { sourceTag: 'scope:metrics', onlyDependOnLibsWithTags: ['scope:metrics', 'scope:platform'] },
  { sourceTag: 'scope:feeds', onlyDependOnLibsWithTags: ['scope:feeds', 'scope:platform'] },
  {
    sourceTag: 'scope:ops',
    onlyDependOnLibsWithTags: ['scope:ops', 'scope:notifications', 'scope:metrics', 'scope:feeds', 'scope:platform'],
  },
];
const boundaries = (extraForTests) => [
  'error',
  {
    enforceBuildableLibDependency: true,
    banTransitiveDependencies: true,
    allow: [],
    depConstraints: [
      ...typeRules.map((rule) =>
        extraForTests ? { ...rule, onlyDependOnLibsWithTags: [...rule.onlyDependOnLibsWithTags, 'type:testing'] } : rule,
      ),
      ...scopeRules,
    ],
  },
];
// Benchmarks reach the servers through the testing library, like integration tests.
const testFiles = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/*.bench.ts'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc', '**/node_modules', 'tmp', 'coverage', 'infra/local/.cache', '.data'] },
  {
    files: ['**/*.ts'],
    // One program for the whole repository (the one `npm run typecheck` builds):
    // a program per project's tsconfig took more than 8 GB of heap.
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: testFiles,
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      '@nx/enforce-module-boundaries': boundaries(true),
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expect*'] }],
    },
  },
  {
    // Command-line entry points (infra, tools, benchmarks) talk to a terminal.
    files: ['infra/**/*.ts', 'tools/**/*.ts', '**/*.bench.ts'],
    rules: { 'no-console': 'off' },
  },
];
