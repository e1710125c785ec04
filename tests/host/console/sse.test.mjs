// The SSE parser: chunks cut anywhere, multi-line data, comments, CR/LF/CRLF, a real stream.

import assert from "node:assert/strict";
import { test } from "node:test";

import { createSseParser, readSse } from "../../../host/console/model.js";
import { missing, sse } from "./recording.mjs";

function parseAll(chunks) {
  const events = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

test("an event's name and data are read, and the event ends at a blank line", () => {
  assert.deepEqual(parseAll(["event: token\ndata: {\"delta\": \"hi\"}\n\n"]),
    [{ event: "token", data: "{\"delta\": \"hi\"}", id: "" }]);
});

test("data without an event name is a 'message'; several data lines join with newlines", () => {
  const events = parseAll(["data: first\ndata: second\ndata:third\ndata\n\n"]);
  assert.equal(events.length, 1);
  assert.equal(events[0].event, "message");
  assert.equal(events[0].data, "first\nsecond\nthird\n");
});

test("comments (keep-alive pings) and unknown fields are ignored", () => {
  const events = parseAll([": ping - 2026-11-22 10:00:00\n\n", "retry: 1000\nfoo: bar\n",
                           "event: answer\n: a comment inside\ndata: x\n\n"]);
  assert.deepEqual(events.map((e) => [e.event, e.data]), [["answer", "x"]]);
});

test("only one leading space is stripped from a value", () => {
  assert.equal(parseAll(["data:   indented\n\n"])[0].data, "  indented");
});

test("CRLF, CR and LF line endings all work", () => {
  for (const eol of ["\r\n", "\r", "\n"]) {
    const events = parseAll([`event: a${eol}data: 1${eol}${eol}event: b${eol}data: 2${eol}${eol}`]);
    assert.deepEqual(events.map((e) => [e.event, e.data]), [["a", "1"], ["b", "2"]], JSON.stringify(eol));
  }
});

test("a CRLF cut between its CR and LF is still one line ending", () => {
  const events = parseAll(["event: a\r", "\ndata: 1\r", "\n\r", "\nevent: b\r\ndata: 2\r\n\r\n"]);
  assert.deepEqual(events.map((e) => [e.event, e.data]), [["a", "1"], ["b", "2"]]);
});

test("an event split across chunks in the middle of a field is whole once its blank line comes", () => {
  const seen = [];
  const parser = createSseParser((event) => seen.push(event));
  parser.push("eve");
  parser.push("nt: tok");
  parser.push("en\ndata: {\"del");
  assert.equal(seen.length, 0);
  parser.push("ta\": \"x\"}\n");
  assert.equal(seen.length, 0);
  parser.push("\n");
  assert.deepEqual(seen, [{ event: "token", data: "{\"delta\": \"x\"}", id: "" }]);
});

test("an unterminated last event is dropped, as the spec says", () => {
  assert.deepEqual(parseAll(["event: a\ndata: 1\n\nevent: b\ndata: 2\n"]).map((e) => e.event), ["a"]);
});

test("the id field is kept for the events that follow", () => {
  const events = parseAll(["id: 7\ndata: a\n\ndata: b\n\n"]);
  assert.deepEqual(events.map((e) => e.id), ["7", "7"]);
});

test("a real host stream parses the same however it is cut", { skip: missing }, () => {
  const text = sse("answer.sse");
  const whole = parseAll([text]);
  assert.ok(whole.length >= 5);
  for (let at = 0; at <= text.length; at += 7) {
    assert.deepEqual(parseAll([text.slice(0, at), text.slice(at)]), whole, `cut at ${at}`);
  }
  assert.deepEqual(parseAll([...text]), whole, "one character at a time");
  const crlf = text.replace(/\r\n/g, "\n").replace(/\n/g, "\r\n");
  assert.deepEqual(parseAll([...crlf]), whole, "CRLF, one character at a time");
});

test("readSse decodes UTF-8 split inside a character across network chunks", async () => {
  const bytes = new TextEncoder().encode("event: token\ndata: {\"delta\": \"Größe 5 µm\"}\n\n");
  const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "ö"
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.slice(0, cut));
      controller.enqueue(bytes.slice(cut, cut + 3));
      controller.enqueue(bytes.slice(cut + 3));
      controller.close();
    },
  });
  const events = [];
  await readSse(new Response(body), (event) => events.push(event));
  assert.equal(JSON.parse(events[0].data).delta, "Größe 5 µm");
});

test("readSse reads a real recorded response body", { skip: missing }, async () => {
  const events = [];
  await readSse(new Response(sse("approval.sse")), (event) => events.push(event));
  assert.deepEqual(events.map((e) => e.event).filter((name, i, all) => all.indexOf(name) === i),
    ["run_started", "token", "approval_required", "run_finished"]);
});
