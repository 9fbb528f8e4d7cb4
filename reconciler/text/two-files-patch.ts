// diff's createTwoFilesPatch, loaded on first use: a no-op plan and a clean validate show no diff, and the
// diff package costs ~0.03 s of CPU to load.
import { createRequire } from "node:module";

type DiffModule = typeof import("diff");
let diffModule: DiffModule | undefined;

export const createTwoFilesPatch: DiffModule["createTwoFilesPatch"] = ((...args: unknown[]) => {
  diffModule ??= createRequire(import.meta.url)("diff") as DiffModule;
  return (diffModule.createTwoFilesPatch as (...a: unknown[]) => unknown)(...args);
}) as DiffModule["createTwoFilesPatch"];
