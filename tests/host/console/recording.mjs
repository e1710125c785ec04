// Recordings of a real host, made by tests/host/test_console.py just before it runs these tests.

import { readFileSync } from "node:fs";
import { join } from "node:path";

const directory = process.env.TESSERA_CONSOLE_RECORDING;

/** Why the recording-based tests skip when run without pytest, or false when it is there. */
export const missing = directory
  ? false
  : "needs a real host's recording: run `pytest tests/host/test_console.py`";

export function sse(name) {
  return readFileSync(join(directory, name), "utf-8");
}

export function recording() {
  return JSON.parse(readFileSync(join(directory, "recording.json"), "utf-8"));
}
