/**
 * Stable ports for a stack with a data folder: the ports it listened on are kept in
 * `local-stack-ports.json` there, and the next start on that folder asks for them again
 * (an option given then wins, and is kept in turn). So the endpoints other processes were
 * configured with stay valid across restarts.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Name of the file inside the data folder. */
export const savedPortsFileName = "local-stack-ports.json";

/** The ports of a stack's local services; absent for a service not started here. */
export interface StackPorts {
  readonly dynamoDb?: number;
  readonly sqs?: number;
  readonly webSocket?: number;
}

const isPort = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value > 0 && value < 65_536;

/** The ports saved in `dataDir`; `{}` when there are none (a first start) or the file is unreadable. */
export function readSavedPorts(dataDir: string): StackPorts {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(readFileSync(join(dataDir, savedPortsFileName), "utf8"));
  } catch {
    return {};
  }
  return Object.fromEntries(Object.entries(saved).filter(([, port]) => isPort(port))) as StackPorts;
}

/** Saves `ports` in `dataDir` (written whole, through a rename). */
export function savePorts(dataDir: string, ports: StackPorts): void {
  const file = join(dataDir, savedPortsFileName);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(ports)}\n`);
  renameSync(temporary, file);
}
