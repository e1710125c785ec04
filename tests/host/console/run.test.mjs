// The chat run's view model, folded from real host streams; errors as the user sees them.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  applyRunRecord, createSseParser, describeError, initialRun, interruptRun, reduceRun, usageLine,
} from "../../../host/console/model.js";
import { missing, recording, sse } from "./recording.mjs";

function replay(text, message = "q") {
  const states = [];
  let run = initialRun(message);
  const parser = createSseParser((event) => {
    run = reduceRun(run, event);
    states.push(run);
  });
  parser.push(text);
  parser.end();
  return { run, states };
}

test("a recorded answer run: tool line, streamed tokens, final answer, usage", { skip: missing }, () => {
  const { run, states } = replay(sse("answer.sse"), "What does a bolt cost?");
  assert.equal(run.status, "finished");
  assert.equal(run.message, "What does a bolt cost?");
  assert.match(run.runId, /^[0-9a-f-]{36}$/);
  assert.equal(run.conversationId, recording().conversation_id);
  assert.equal(run.answer, "A bolt costs 12.50.");
  assert.equal(run.tools.length, 1);
  const [quote] = run.tools;
  assert.equal(quote.tool, "shop.quote");
  assert.deepEqual(quote.arguments, { item: "bolt" });
  assert.equal(quote.state, "ok");
  assert.equal(typeof quote.durationMs, "number");
  assert.equal(quote.errorCategory, null);
  assert.equal(run.usage.tool_calls, 1);
  assert.equal(run.approval, null);
  assert.equal(run.error, null);
  // while it streamed, the answer grew token by token and the tool showed as running
  const growing = states.filter((s) => s.answer && s.status === "running").map((s) => s.answer);
  assert.ok(growing.length >= 2);
  assert.ok(growing.every((text, i) => i === 0 || text.startsWith(growing[i - 1])));
  assert.ok(states.some((s) => s.tools[0] && s.tools[0].state === "running"));
  assert.match(usageLine(run.usage, run.cost), /^1 tool call · \d+ tokens in · \d+ out · cost 0\.0000$/);
});

test("a recorded held write: the run pauses with the approval's id, tool and impact", { skip: missing }, () => {
  const { run } = replay(sse("approval.sse"));
  const [approval] = recording().approvals.as_requester;
  assert.equal(run.status, "paused");
  assert.equal(run.approval.id, approval.id);
  assert.equal(run.approval.tool, "shop.order");
  assert.equal(run.approval.details.impact, approval.impact);
  assert.equal(run.approval.details.rule, "shop-orders-over-100");
  assert.equal(run.runId, approval.run_id);
  assert.equal(run.answer, "I will order the nuts.");
});

test("after the approval, the paused run's recorded answer replaces the waiting state", { skip: missing }, () => {
  const paused = replay(sse("approval.sse")).run;
  const record = recording().resumed_run;
  assert.equal(record.id, paused.runId);
  const done = applyRunRecord(paused, record);
  assert.equal(done.status, "finished");
  assert.equal(done.resumed, true);
  assert.equal(done.answer, "Ordered 900 nuts.");
  assert.equal(done.usage.tool_calls, record.usage.tool_calls);
  assert.equal(done.approval.id, paused.approval.id, "the banner stays, for the record");
  assert.equal(applyRunRecord(paused, { ...record, status: "paused" }), paused, "still waiting");
  assert.equal(applyRunRecord(paused, null), paused);
});

test("the answer event overrides partial streamed text, and a tool error keeps its category", () => {
  let run = initialRun("q");
  for (const [event, data] of [
    ["run_started", { run_id: "r1", conversation_id: "c-1" }],
    ["tool_call_started", { run_id: "r1", id: "t1", tool: "sql.query", arguments: { q: "[redacted]" } }],
    ["tool_call_finished", { run_id: "r1", id: "t1", tool: "sql.query", duration_ms: 12.5,
                              is_error: true, error_category: "policy_denied" }],
    ["token", { run_id: "r1", delta: "Partial" }],
    ["answer", { run_id: "r1", text: "The final text.", citations: [{ text: "c" }], notes: ["n"] }],
    ["something_new", { run_id: "r1" }],
  ]) run = reduceRun(run, { event, data: JSON.stringify(data) });
  assert.equal(run.answer, "The final text.");
  assert.deepEqual(run.tools.map((t) => [t.state, t.errorCategory, t.durationMs]),
    [["error", "policy_denied", 12.5]]);
  assert.equal(run.citations.length, 1);
  assert.deepEqual(run.notes, ["n"]);
  assert.equal(run.status, "running");
});

test("a run that fails before it starts carries the error the host sent", () => {
  const run = reduceRun(initialRun("q"), { event: "run_finished", data: JSON.stringify({
    run_id: "", status: "failed", error_category: "budget_exceeded",
    human_message: "The tenant's daily token budget is spent.", model_fix_hint: "Wait." }) });
  assert.equal(run.status, "failed");
  assert.deepEqual(run.error, { category: "budget_exceeded",
    message: "The tenant's daily token budget is spent.", hint: "Wait." });
});

test("a run another host process took over is not finished here, and is not lost", () => {
  const run = reduceRun(initialRun("q"), { event: "run_finished", data: JSON.stringify({
    run_id: "r1", status: "handed_over", usage: { tool_calls: 0 }, cost: 0 }) });
  assert.equal(run.status, "handed_over");
  assert.equal(interruptRun(run, "connection closed"), run);
  const done = applyRunRecord(run, { status: "finished", usage: { cost: 0 },
    events: [{ kind: "answer", payload: { text: "Finished by the other process.", citations: [] } }] });
  assert.equal(done.status, "finished");
  assert.equal(done.answer, "Finished by the other process.");
});

test("data that is not JSON does not break the run", () => {
  const run = reduceRun(initialRun("q"), { event: "token", data: "not json" });
  assert.equal(run.answer, "");
});

test("a stream that ends without run_finished is reported as lost; a finished one is kept", () => {
  const lost = interruptRun(reduceRun(initialRun("q"), { event: "run_started", data: "{}" }), "lost");
  assert.equal(lost.status, "failed");
  assert.equal(lost.error.message, "lost");
  const done = { ...initialRun("q"), status: "finished" };
  assert.equal(interruptRun(done, "lost"), done);
});

test("401 from the host: not signed in, and the console offers to sign in again", { skip: missing }, () => {
  const { status, body, retry_after } = recording().errors.unauthenticated;
  const error = describeError(status, body, retry_after);
  assert.equal(error.title, "Not signed in");
  assert.equal(error.message, "A bearer token is required.");
  assert.equal(error.signOut, true);
  assert.match(error.hint, /tessera token --audience tessera/);
});

test("429 from the host: the wait comes from Retry-After", { skip: missing }, () => {
  const { status, body, retry_after } = recording().errors.rate_limited;
  const error = describeError(status, body, retry_after);
  assert.equal(error.category, "rate_limited");
  assert.equal(error.retryAfterS, Number(retry_after));
  assert.equal(error.hint, `Try again in ${retry_after} s.`);
  assert.equal(error.message, body.human_message);
  assert.equal(error.signOut, false);
});

test("503 without a model: the host's message says how to configure one", { skip: missing }, () => {
  const { status, body, retry_after } = recording().errors.no_model;
  const error = describeError(status, body, retry_after);
  assert.equal(error.title, "Unavailable");
  assert.match(error.message, /TESSERA_HOST_LLM_API_BASE/);
  assert.equal(error.hint, "Configure a model endpoint.");
});

test("403 and 422 show the host's message, not hints written for a model", { skip: missing }, () => {
  const forbidden = recording().errors.own_request;
  const denied = describeError(forbidden.status, forbidden.body, forbidden.retry_after);
  assert.equal(denied.title, "Not allowed");
  assert.match(denied.message, /never decide their own requests/);
  assert.equal(denied.hint, "");
  const invalid = recording().errors.invalid;
  const refused = describeError(invalid.status, invalid.body, invalid.retry_after);
  assert.equal(refused.category, "validation");
  assert.match(refused.message, /message/);
});

test("no answer at all (the host is unreachable, or sent no JSON)", () => {
  const offline = describeError(0, null, null);
  assert.equal(offline.title, "Host unreachable");
  assert.equal(offline.category, "network");
  const gateway = describeError(502, null, null);
  assert.equal(gateway.message, "The host answered HTTP 502.");
  assert.equal(describeError(429, { retry_after_s: 2.4 }, null).retryAfterS, 2);
});
