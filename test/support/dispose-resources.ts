/** Integration setup file: after each test file, delete the tables and queues it created (see local-resources.ts). */
import { afterAll } from "vitest";
import { disposeTestResources } from "./local-resources.js";

afterAll(disposeTestResources);
