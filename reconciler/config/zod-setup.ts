// sysconfig's schemas use zod through its "mini" API (zod/mini): the same checks, parsing and messages as
// the classic API, as functions instead of methods. The classic API costs ~60 ms to load in every fresh
// process (every schema instance gets ~80 methods, and nothing of it can be left out of the bundle).
// Imported by each schema module for this one effect: zod/mini set up as the classic API sets itself up,
// with English messages and the memoizer that lets a record or an array hold data with a cycle (the yaml
// package can read `&a [*a]` into one).
import { config, memoizer } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());
config({ memoizer: memoizer() });
