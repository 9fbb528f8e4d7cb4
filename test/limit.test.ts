// The apply limit: at most N tasks at once, in call order; a task waiting `outside` it frees its slot.
import { expect, it } from "@jest/globals";
import { createLimiter } from "../reconciler/apply/limit.js";

const tick = () => new Promise((r) => setTimeout(r, 5));

it("runs at most N tasks at once, the rest in call order", async () => {
  const limit = createLimiter(2);
  let active = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      limit(async () => {
        active += 1;
        most = Math.max(most, active);
        order.push(n);
        await tick();
        active -= 1;
      }),
    ),
  );
  expect(most).toBe(2);
  expect(order).toEqual([1, 2, 3, 4, 5]);
});

it("frees the slot of a task waiting outside the limit, and takes one again before the task goes on", async () => {
  const limit = createLimiter(1);
  const events: string[] = [];
  let releaseWait: () => void = () => undefined;
  const waiting = new Promise<void>((resolve) => (releaseWait = resolve));
  const first = limit(async () => {
    events.push("first sends");
    await limit.outside(() => waiting);
    events.push("first finishes");
  });
  const second = limit(async () => {
    events.push("second sends"); // runs while the first waits outside
    await tick();
    releaseWait();
    await tick();
    events.push("second done");
  });
  await Promise.all([first, second]);
  // The first takes its slot back only after the second freed it: never two inside at once.
  expect(events).toEqual(["first sends", "second sends", "second done", "first finishes"]);
});
