// POST /hooks/reconcile: a signed request asks for a run now. The body is only authenticated, never
// used: the desired state is always the baked config, so a caller can cause a reconcile and nothing else.
import type http from "node:http";
import { json, type Reply } from "./http-server.js";
import type { EventLog } from "./event-log.js";
import type { ServeMetrics } from "./metrics.js";
import { readBody } from "./request-body.js";
import type { TriggerOutcome } from "./run-queue.js";
import { checkSignature, SIGNATURE_HEADER } from "./signature.js";

export interface WebhookDeps {
  /** undefined: no secret configured, so the hook is off (403 for every call). */
  secret: Buffer | undefined;
  trigger(reason: string): TriggerOutcome;
  metrics: ServeMetrics;
  log: EventLog;
  maxBodyBytes?: number;
}

export function webhookHandler(deps: WebhookDeps): (req: http.IncomingMessage) => Promise<Reply> {
  return async (req) => {
    const from = req.socket.remoteAddress ?? "?";
    const delivery = headerOf(req, "x-github-delivery") ?? headerOf(req, "x-gitea-delivery");
    if (deps.secret === undefined) {
      req.resume();
      deps.metrics.webhook("disabled");
      deps.log.emit("warn", "webhook.refused", { from, reason: "no webhook secret configured" });
      return json(403, { error: "the webhook is off: serve was started without --webhook-secret-file" });
    }
    const body = await readBody(req, deps.maxBodyBytes);
    if (!body.ok) {
      deps.metrics.webhook("too_large");
      deps.log.emit("warn", "webhook.refused", { from, delivery, reason: body.reason });
      return json(413, { error: "request body too large" }, { connection: "close" });
    }
    const check = checkSignature(deps.secret, body.body, headerOf(req, SIGNATURE_HEADER));
    if (check !== "valid") {
      deps.metrics.webhook("unauthorized");
      deps.log.emit("warn", "webhook.refused", { from, delivery, reason: `signature ${check}` });
      return json(401, {
        error: `signature ${check}: send X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body under the shared secret>`,
      });
    }
    deps.metrics.webhook("accepted");
    const event = headerOf(req, "x-github-event") ?? headerOf(req, "x-gitea-event");
    if (event === "ping") {
      deps.log.emit("info", "webhook.ping", { from, delivery });
      return json(200, { ok: true, triggered: false, message: "pong: the secret matches" });
    }
    const outcome = deps.trigger("webhook");
    deps.log.emit("info", "webhook.accepted", { from, delivery, gitEvent: event, run: outcome });
    if (outcome === "stopped") return json(503, { error: "serve is shutting down; no new run starts" });
    return json(202, { ok: true, triggered: true, run: outcome });
  };
}

function headerOf(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
