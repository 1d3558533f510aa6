// Lint configuration: type-aware rules for all TypeScript, plus the layering rule of STYLE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Product code (runtime, edge, bench, cli, ops) never imports scripts/ or the tests: what both need lives in a
// product module that scripts/ and test/ import (issue 13).
const productOnly = [
  {
    group: ['**/scripts/*', '**/scripts/**'],
    message: 'Product code does not import scripts/; move the shared code into a product module.',
  },
  {
    group: ['**/test/*', '**/test/**'],
    message: 'Product code does not import test code; move the shared code into a product module.',
  },
];
const runtimeOnly = {
  group: ['**/edge/*', '**/bench/*', '**/cli/*'],
  message: 'runtime/ imports nothing else of ours.',
};

const platformOnly = {
  patterns: [
    {
      group: ['onnxruntime-*', 'onnxruntime-*/*'],
      message: 'Only runtime/platform/ may import onnxruntime.',
    },
    { group: ['node:*'], message: 'Only runtime/platform/ may import node:* modules.' },
    { group: ['*.wasm'], message: 'Only runtime/platform/ may import .wasm files.' },
    runtimeOnly,
    ...productOnly,
  ],
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.wrangler/',
      'artifacts/',
      'training/',
      'bench/reports/',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['runtime/**/*.ts'],
    ignores: ['runtime/platform/**'],
    rules: { 'no-restricted-imports': ['error', platformOnly] },
  },
  {
    files: ['runtime/platform/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [runtimeOnly, ...productOnly] }] },
  },
  {
    files: ['edge/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/bench/*', '**/cli/*'], message: 'edge -> runtime only.' }, ...productOnly],
        },
      ],
    },
  },
  {
    files: ['bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ['**/edge/*'], message: 'bench reaches edge over HTTP only.' }, ...productOnly],
        },
      ],
    },
  },
  {
    files: ['cli/**/*.ts', 'ops/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: productOnly }] },
  },
  {
    // Tests build damaged bundles and malformed requests out of raw JSON on purpose.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // JavaScript entries: the CLI's and the pool worker threads' (each registers tsx, then loads TypeScript).
    files: ['bin/*.js', 'runtime/platform/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly' },
    },
  },
);
