// age-encryption, loaded on first use: its ~50 modules (post-quantum and curve code) cost ~0.15 s of
// start-up, and a config without secrets never needs them (validate, plan of 1,000 services).
// require() of an ES module is synchronous on Node 22.12+, which the sync callers (the schema's
// recipient check, a ciphertext's fingerprint) need.
import { createRequire } from "node:module";

type AgeModule = typeof import("age-encryption");

let ageModule: AgeModule | undefined;

export const age = (): AgeModule =>
  (ageModule ??= createRequire(import.meta.url)("age-encryption") as AgeModule);
