// The page's "Objects" section: one table body per service, a row per object with kind, state and
// reason. Unmanaged neighbours are rows the stylesheet hides until the checkbox is ticked (no script).
import { html, type SafeHtml } from "./html.js";
import type { ObjectView } from "./objects.js";

function row(object: ObjectView): SafeHtml {
  return html`<tr
    class="object state-${object.state}"
    data-search="${`${object.service} ${object.subject} ${object.state}`.toLowerCase()}"
  >
    <td class="name" title="${object.subject}">${object.name}</td>
    <td>${object.kind}</td>
    <td><span class="state ${object.state}">${object.state}</span></td>
    <td class="reason">${object.reason ?? ""}</td>
  </tr>`;
}

export function objectsSection(objects: readonly ObjectView[], asOfRun: number | undefined): SafeHtml {
  const services = new Map<string, ObjectView[]>();
  for (const o of objects) services.set(o.service, [...(services.get(o.service) ?? []), o]);
  const unmanaged = objects.filter((o) => o.state === "unmanaged").length;
  const bodies = [...services].map(
    ([service, list]) =>
      html`<tbody class="service${list.every((o) => o.state === "unmanaged") ? " only-unmanaged" : ""}">
        <tr class="service-head">
          <th colspan="4" scope="rowgroup">${service === "" ? "(no service)" : service}</th>
        </tr>
        ${list.map(row)}
      </tbody>`,
  );
  return html`<section id="objects" aria-labelledby="objects-title">
    <h2 id="objects-title">
      Objects ${asOfRun === undefined ? "" : html`<small>as planned by run #${asOfRun}</small>`}
    </h2>
    <div class="controls">
      <input
        type="search"
        id="filter"
        placeholder="Filter by service, name or state"
        aria-label="Filter objects"
        hidden
      />
      <label><input type="checkbox" id="show-unmanaged" /> show ${unmanaged} unmanaged neighbour(s)</label>
    </div>
    ${
      objects.length === 0
        ? html`<p class="empty">No plan yet: the objects appear once the first run has read the target.</p>`
        : html`<table class="objects">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">kind</th>
                <th scope="col">state</th>
                <th scope="col">reason</th>
              </tr>
            </thead>
            ${bodies}
          </table>`
    }
  </section>`;
}
