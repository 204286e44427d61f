import { startLocalStack } from "sluice-jobs/local";
import { app } from "./jobs.js";

// The emulators, the timer and the stream consumers; the workers run as their own
// process (worker.ts), as in production. Data is kept in .data across restarts.
const stack = await startLocalStack({ app, dataDir: ".data", workers: 0 });
for (const [name, value] of Object.entries(stack.environment)) console.log(`export ${name}='${value}'`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stack.stop());
