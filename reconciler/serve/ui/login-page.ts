// The page a browser gets instead of the dashboard when --ui-token-file is set and it has no cookie: a
// form that posts the token to /login (no script needed).
import { html } from "./html.js";

export function renderLogin(message: string | undefined): string {
  return `<!doctype html>\n${
    html`<html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <title>sysconfig serve · token required</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/ui/app.css" />
      </head>
      <body class="login">
        <main>
          <h1>sysconfig serve</h1>
          <p>This page needs the token serve was started with (<code>--ui-token-file</code>).</p>
          ${message ? html`<p class="error" role="alert">${message}</p>` : ""}
          <form method="post" action="/login">
            <label
              >token <input type="password" name="token" autocomplete="current-password" required autofocus
            /></label>
            <button type="submit">Open the page</button>
          </form>
        </main>
      </body>
    </html>`.text
  }\n`;
}
