/** `node --import ./test/support/register.ts`: installs hooks.ts for the tests of src/logic. */
import { register } from "node:module";

register("./hooks.ts", import.meta.url);
