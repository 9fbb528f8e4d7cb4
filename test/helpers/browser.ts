// Debian's chromium (installed by `npm run services`), driven headless by puppeteer-core, which never
// downloads a browser. When chromium is missing or cannot start, the error says why and how to fix it:
// the browser suites fail, they never skip.
import { existsSync } from "node:fs";
import puppeteer, { type Browser } from "puppeteer-core";

export const CHROMIUM = process.env.SYSCONFIG_CHROMIUM ?? "/usr/bin/chromium";

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `chromium is not installed at ${CHROMIUM}: run 'npm run services' (as root; it installs Debian's chromium), ` +
        `or point SYSCONFIG_CHROMIUM at a Chromium binary.`,
    );
  }
  try {
    return await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As root (CI containers, these machines) chromium's sandbox cannot start; /dev/shm is small in containers.
      args: [
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
      ],
    });
  } catch (error) {
    throw new Error(
      `chromium at ${CHROMIUM} did not start: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
