// Typed linting (typescript-eslint with type information): the rules that catch what the type
// checker cannot, such as a promise nobody awaits or a promise passed where a callback is expected.
import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      ".next-serve-*/**",
      ".next-*/**",
      "data/**",
      "reports/**",
      "test-results/**",
      "playwright-report/**",
      "bench-results/**",
      "lib/db/generated/**",
      "lib/workflows/registry.generated.ts",
      "next-env.d.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // Stored JSON and provider answers are untyped by nature; they are validated where they enter.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      // An async function without await is how an interface that returns promises is met.
      "@typescript-eslint/require-await": "off",
      // Interfaces here declare callbacks in method syntax (`log(message): void`) and are met by
      // plain functions, never by methods that use `this`: the rule only reports false alarms.
      "@typescript-eslint/unbound-method": "off",
      // Rejecting with an abort signal's reason (typed unknown) passes the caller's own error on.
      // Off: with Prisma's generated JSON input types it calls casts unnecessary that tsc requires.
      "@typescript-eslint/no-unnecessary-type-assertion": "off",
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    files: ["components/**/*.tsx", "app/**/*.tsx"],
    plugins: { "react-hooks": reactHooks },
    rules: { ...reactHooks.configs.recommended.rules },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { ...globals.node } },
  },
);
