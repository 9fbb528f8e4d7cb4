// Small text formats shared by the page's sections.
import { html, type SafeHtml } from "./html.js";

/** 2026-12-06 13:49:56 UTC in a <time> element (the script shows it in local time). */
export function timeTag(iso: string): SafeHtml {
  const text = `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  return html`<time datetime="${iso}">${text}</time>`;
}

export function seconds(value: number): string {
  return value < 10
    ? `${value.toFixed(2)} s`
    : value < 120
      ? `${value.toFixed(1)} s`
      : `${Math.round(value / 60)} min`;
}

export const shortHash = (revision: string): string =>
  /^[0-9a-f]{40}/.test(revision) ? revision.slice(0, 8) + revision.slice(40) : revision;
