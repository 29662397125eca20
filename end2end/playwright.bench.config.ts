// `make bench` only: the console timings, against the same seeded server as
// the end-to-end tests.
import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

export default defineConfig({
  ...base,
  testDir: "./bench",
  testMatch: /.*\.bench\.ts/,
  timeout: 120_000,
});
