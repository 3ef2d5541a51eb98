// ESLint: typescript-eslint's type-aware recommended rules (recommendedTypeChecked) over every
// TypeScript file, with the type information of tsconfig.json. Two documented departures:
//  - node:test's test()/it()/describe() return promises the runner itself awaits, so they are
//    known-safe calls for no-floating-promises (typescript-eslint's allowForKnownSafeCalls);
//  - require-await is off: an async method without await is how an implementation of a
//    Promise-returning interface turns a throw into a rejection;
//  - unused variables named with a leading _ are deliberate (e.g. `for await (const _k of ...)`);
//  - in test/ and bench/ the no-unsafe-* rules are off: they parse JSON the agent and the CLI
//    print and assert on its fields, and the assertions are the check; typing every parse would
//    add casts, not safety. The shipped code (lib, agent, exporters, verify, config, cli) keeps them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tmp/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: { process: 'readonly' } } },
);
