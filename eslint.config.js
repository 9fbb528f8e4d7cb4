import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "coverage/",
      "*.config.js",
      "test/global-setup.js",
      "test/setup-env.js",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/test/**", "../test/*"], message: "product code never imports test/" }] },
      ],
    },
  },
  {
    files: ["reconciler/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/cli/**", "../cli/*"], message: "reconciler/ never imports cli/ (STYLE rule 6)" },
          ],
        },
      ],
    },
  },
  {
    // The web page's own script runs in the browser, as plain JavaScript outside the TypeScript project.
    files: ["reconciler/serve/ui/assets/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: "script",
      globals: {
        document: "readonly",
        window: "readonly",
        EventSource: "readonly",
        DOMParser: "readonly",
        fetch: "readonly",
      },
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
