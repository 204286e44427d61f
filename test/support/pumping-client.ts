/**
 * A client in a child process, for the stalled-input test: triggers one run of "Total"
 * whose streamed argument `values` yields 1, 2, 3 and then nothing more (the source
 * stays open), prints the run id, and waits to be killed.
 */
import { connectToParent } from "./child-env.js";

const system = connectToParent();
async function* values() {
  yield 1;
  yield 2;
  yield 3;
  await new Promise(() => undefined);
}
const run = await system.client.trigger("Total", { values: values() });
process.stdout.write(`run ${run.runId}\n`);
