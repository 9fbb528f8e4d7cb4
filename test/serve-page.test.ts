// serve's web page in a real browser (Debian's chromium through puppeteer-core) against a real serve
// on the Docker target: objects and states, a signed webhook's run appearing live with its diff, a broken
// service turning unhealthy with its reason, text from git and the config shown as text (never markup),
// the security headers, no console errors; and the --ui-token-file gate.
/* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-assignment --
   The functions passed to page.$eval run in the browser and take DOM types, which the project's lib
   leaves out on purpose (product code must not see browser globals), so they type as unresolved here. */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createHmac } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "puppeteer-core";
import { launchBrowser } from "./helpers/browser.js";
import {
  buildWebImage,
  commitConfig,
  freePort,
  removeSystem,
  uniqueSystem,
} from "./helpers/docker-fixtures.js";
import { startServe, type ServeProcess } from "./helpers/serve-process.js";
import { tempDir } from "./helpers/tmp.js";

// The browser's globals used by the functions that run in the page (the project's lib has no DOM).
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: object;
declare function getComputedStyle(element: unknown): { display: string };

const IMAGE = "sysconfig-test/page-web";
const SECRET = "page-webhook-secret";
const XSS = "<img src=x onerror=alert(1)>";
/** Never fires while a test runs: runs come from startup and the webhook only. */
const NEVER = "0 0 1 1 *";

function configYaml(system: string, port: number, webTag: string, greeting: string): string {
  return `name: ${system}
image: 127.0.0.1:5000/${system}/sysconfig
environments:
  main: { target: { kind: docker } }
services:
  web:
    image: ${IMAGE}
    tag: ${webTag}
    command: ["httpd", "-f", "-p", "${port}", "-h", "/www"]
    ports: [{ container: ${port} }]
    env: { GREETING: ${JSON.stringify(greeting)}, API_TOKEN: page-secret-value }
    health: { http: { path: /, port: ${port} }, intervalSeconds: 1, retries: 1 }
  worker:
    image: ${IMAGE}
    tag: 1-main
    network: none
    command: ["sh", "-c", "while true; do sleep 1; done"]
`;
}

async function webhook(base: string): Promise<number> {
  const body = JSON.stringify({ ref: "refs/heads/main" });
  const res = await fetch(`${base}/hooks/reconcile`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** Console errors, uncaught page errors, failed requests and dialogs (an alert() would be one). */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on("requestfailed", (r) => {
    // The event stream is cut when the page goes away; that is not a fault of the page.
    if (!r.url().endsWith("/events")) problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return problems;
}

const rowState = (page: Page, subject: string) =>
  page.$eval(`tr.object td.name[title="${subject}"]`, (td) => ({
    state: td.parentElement?.querySelector(".state")?.textContent ?? "",
    reason: td.parentElement?.querySelector(".reason")?.textContent ?? "",
  }));

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
  await buildWebImage(`${IMAGE}:1-main`, "page v1\n");
  await buildWebImage(`${IMAGE}:2-main`, "page v2\n");
  await buildWebImage(`${IMAGE}:3-main`, undefined); // no index.html: the health check fails
});

afterAll(async () => {
  await browser?.close();
});

describe("serve's web page on the Docker target", () => {
  const system = uniqueSystem("page");
  let repo: string;
  let cleanup: () => Promise<void>;
  let port: number;
  let serve: ServeProcess;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir("sysconfig-page-"));
    repo = path.join(dir, "repo");
    await mkdir(repo);
    port = await freePort();
    await commitConfig(repo, configYaml(system, port, "1-main", XSS), XSS);
    const secretFile = path.join(dir, "webhook-secret");
    await writeFile(secretFile, SECRET);
    serve = await startServe([
      "--repo",
      repo,
      "--target",
      "docker",
      "--schedule",
      NEVER,
      "--webhook-secret-file",
      secretFile,
      "--timeout",
      "30",
    ]);
    await serve.waitFor((e) => e.event === "run.finished" && e.run === 1, 90_000, "the startup run");
    page = await browser.newPage();
    problems = watch(page);
  });

  afterAll(async () => {
    await page?.close();
    await serve?.stop();
    await removeSystem(system);
    await cleanup();
  });

  it("answers / with the page under a strict Content-Security-Policy, nosniff and no referrer", async () => {
    const response = await page.goto(`${serve.base}/`, { waitUntil: "load" });
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers["content-security-policy"]).toContain("default-src 'none'");
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("style-src 'self'");
    expect(headers["content-security-policy"]).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    // The script ran (it shows the filter box and the live badge).
    await page.waitForSelector("#filter:not([hidden])");
    await page.waitForFunction(() => document.querySelector("#conn")?.textContent === "live");
  });

  it("lists the objects grouped by service, healthy, with the revision and target in the header", async () => {
    expect(await rowState(page, `docker:container/${system}-web`)).toEqual({ state: "healthy", reason: "" });
    expect(await rowState(page, `docker:container/${system}-worker`)).toEqual({
      state: "healthy",
      reason: "",
    });
    const services = await page.$$eval("tbody.service .service-head th", (ths) =>
      ths.map((t) => t.textContent),
    );
    expect(services).toEqual(["web", "worker"]);
    const header = await page.$eval("#header", (h) => h.textContent ?? "");
    expect(header).toContain(system);
    expect(header).toContain("docker");
    expect(await page.$eval("#header .badge", (b) => b.textContent)).toBe("healthy");
  });

  it("shows text from git and the config as text: a commit subject and an env value that are markup", async () => {
    expect(await page.$eval("#header .subject", (s) => s.textContent)).toBe(XSS);
    await page.$eval("details#run-1", (d) => d.setAttribute("open", ""));
    const diff = await page.$$eval("details#run-1 pre.diff", (pres) =>
      pres.map((p) => p.textContent).join("\n"),
    );
    expect(diff).toContain(`GREETING: ${XSS}`);
    // No element came from the payload, and no alert() dialog opened.
    expect(await page.$$eval("img", (imgs) => imgs.length)).toBe(0);
    // The secret never reaches the page.
    expect(await page.content()).not.toContain("page-secret-value");
  });

  it("shows a webhook-triggered run live, without a reload, and then its diff", async () => {
    await page.evaluate(() => ((window as { stayed?: boolean }).stayed = true));
    await commitConfig(repo, configYaml(system, port, "2-main", "hello"), "web 2-main");
    expect(await webhook(serve.base)).toBe(202);
    // The run in progress appears first, with its change, and its results arrive while it runs.
    await page.waitForSelector('#live[data-run="2"]:not([hidden])', { timeout: 30_000 });
    await page.waitForFunction(
      (subject) => document.querySelector(`#live li.change[data-subject="${subject}"]`) !== null,
      { timeout: 30_000 },
      `docker:container/${system}-web`,
    );
    // Then the finished run, fetched into the page.
    await page.waitForSelector("details#run-2", { timeout: 60_000 });
    expect(await page.evaluate(() => (window as { stayed?: boolean }).stayed)).toBe(true);
    expect(await page.$eval("details#run-2 .result", (r) => r.textContent)).toBe("success");
    expect(await page.$eval("details#run-2 .trigger", (r) => r.textContent)).toBe("webhook");
    await page.$eval("details#run-2", (d) => d.setAttribute("open", ""));
    const added = await page.$$eval("details#run-2 pre.diff .add", (spans) =>
      spans.map((s) => s.textContent),
    );
    const removed = await page.$$eval("details#run-2 pre.diff .del", (spans) =>
      spans.map((s) => s.textContent),
    );
    expect(added.join("\n")).toContain("2-main");
    expect(removed.join("\n")).toContain("1-main");
    // The API token's value is masked in the diff.
    expect(added.join("\n")).not.toContain("page-secret-value");
    expect(await page.$eval("details#run-2 .change .result", (r) => r.textContent)).toBe("healthy");
  });

  it("turns a broken service unhealthy with its reason, live", async () => {
    await commitConfig(repo, configYaml(system, port, "3-main", "hello"), "web 3-main (broken)");
    expect(await webhook(serve.base)).toBe(202);
    await page.waitForSelector("details#run-3", { timeout: 90_000 });
    expect(await page.$eval("details#run-3 .result", (r) => r.textContent)).toBe("failed");
    const web = await rowState(page, `docker:container/${system}-web`);
    expect(web.state).toBe("unhealthy");
    expect(web.reason).toMatch(/health check failed|not healthy/);
    expect(await page.$eval("#header .badge", (b) => b.textContent)).toBe("degraded");
    await page.$eval("details#run-3", (d) => d.setAttribute("open", ""));
    expect(await page.$eval("details#run-3 pre.error", (p) => p.textContent)).toContain(`${system}-web`);
  });

  it("filters objects by the words typed and hides unmanaged neighbours until asked", async () => {
    await page.type("#filter", "worker");
    const visible = await page.$$eval("tr.object", (rows) =>
      rows
        .filter((r) => getComputedStyle(r).display !== "none")
        .map((r) => r.querySelector(".name")?.textContent),
    );
    expect(visible).toEqual([`${system}-worker`]);
    await page.click("#filter", { count: 3 });
    await page.keyboard.press("Backspace");
    expect(await page.$$eval("tr.object.filtered-out", (rows) => rows.length)).toBe(0);
  });

  it("renders without its script too (the static view)", async () => {
    const plain = await browser.newPage();
    await plain.setJavaScriptEnabled(false);
    await plain.goto(`${serve.base}/`);
    expect(await plain.$$eval("details.run", (d) => d.length)).toBe(3);
    expect(await plain.$eval("#header .subject", (s) => s.textContent)).toBe("web 3-main (broken)");
    expect(await plain.$$eval("tr.object", (rows) => rows.length)).toBe(2);
    await plain.close();
  });

  it("saves light and dark screenshots when asked (SYSCONFIG_SCREENSHOTS=DIR), and logs no console error", async () => {
    const dir = process.env.SYSCONFIG_SCREENSHOTS;
    if (dir !== undefined) {
      await mkdir(dir, { recursive: true });
      await page.setViewport({ width: 1200, height: 900 });
      await page.$eval("details#run-2", (d) => d.setAttribute("open", ""));
      for (const scheme of ["light", "dark"] as const) {
        await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
        await page.screenshot({
          path: path.join(dir, `serve-page-${scheme}.png`),
          fullPage: true,
        });
      }
      await page.setViewport({ width: 390, height: 844, isMobile: true });
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
      await page.screenshot({ path: path.join(dir, "serve-page-phone.png") });
    }
    expect(problems).toEqual([]);
  }, 300_000);
});

describe("serve's web page with --ui-token-file", () => {
  const TOKEN = "a-long-page-token-0123456789";
  let serve: ServeProcess;
  let cleanup: () => Promise<void>;
  const system = uniqueSystem("pagetok");

  beforeAll(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir("sysconfig-page-token-"));
    const repo = path.join(dir, "repo");
    await mkdir(repo);
    await commitConfig(repo, configYaml(system, await freePort(), "1-main", "hi"), "v1");
    await writeFile(path.join(dir, "token"), `${TOKEN}\n`);
    serve = await startServe([
      "--repo",
      repo,
      "--target",
      "docker",
      "--schedule",
      NEVER,
      "--ui-token-file",
      path.join(dir, "token"),
    ]);
  });

  afterAll(async () => {
    await serve?.stop();
    await removeSystem(system);
    await cleanup();
  });

  it("requires the token for /, /status and /events, but not for /healthz and /metrics", async () => {
    for (const p of ["/", "/status", "/events"]) {
      const res = await fetch(`${serve.base}${p}`);
      expect([p, res.status]).toEqual([p, 401]);
      await res.arrayBuffer();
    }
    for (const p of ["/healthz", "/metrics"]) {
      const res = await fetch(`${serve.base}${p}`);
      expect([p, res.status === 401]).toEqual([p, false]);
      await res.arrayBuffer();
    }
    const bearer = await fetch(`${serve.base}/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    await bearer.arrayBuffer();
    const wrong = await fetch(`${serve.base}/status`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    await wrong.arrayBuffer();
  });

  it("lets a browser in through the login form, with an HttpOnly cookie that is not the token", async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    const first = await page.goto(`${serve.base}/`);
    expect(first?.status()).toBe(401);
    await page.type('input[name="token"]', "wrong-token-wrong-token");
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(await page.$eval(".error", (e) => e.textContent)).toContain("not the token");
    await page.type('input[name="token"]', TOKEN);
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await page.waitForSelector("#objects");
    await page.waitForFunction(() => document.querySelector("#conn")?.textContent === "live");
    const cookies = await browser.cookies();
    const cookie = cookies.find((c) => c.name === "sysconfig_ui");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.value).not.toContain(TOKEN);
    await page.close();
    // The two 401 answers of the login form are the browser's only console lines.
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
  });
});
