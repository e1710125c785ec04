// What the approvals panel shows and allows, from real approvals and real tokens.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  approvalView, citationList, healthView, parseArguments, tokenIdentity,
} from "../../../host/console/model.js";
import { missing, recording } from "./recording.mjs";

test("a real token names its tenant, user and roles", { skip: missing }, () => {
  const { tokens, approvals } = recording();
  const approver = tokenIdentity(tokens.approver, 0); // "now" fixed: the test tokens live 60 s
  assert.equal(approver.ok, true);
  assert.equal(approver.tenant, "acme");
  assert.match(approver.user, /^approver-[0-9a-f]+@acme\.example$/);
  assert.deepEqual(approver.roles, ["approver"]);
  assert.equal(approver.expired, false);
  assert.equal(tokenIdentity(`Bearer ${tokens.buyer}`, 0).user, approvals.as_requester[0].requester);
  assert.equal(tokenIdentity(tokens.buyer, approver.expiresAt + 3600).expired, true);
});

test("a string that is not a JWT is refused with a reason", () => {
  assert.equal(tokenIdentity("").ok, false);
  assert.equal(tokenIdentity("abc.def").ok, false);
  assert.match(tokenIdentity("abc.!!!.def").error, /payload/);
  const unsigned = `e30.${Buffer.from(JSON.stringify({ sub: "ü", roles: "a b" })).toString("base64url")}.x`;
  assert.deepEqual(tokenIdentity(unsigned).roles, ["a", "b"]);
  assert.equal(tokenIdentity(unsigned).user, "ü");
});

test("an approver may decide another user's pending request", { skip: missing }, () => {
  const { tokens, approvals } = recording();
  const [approval] = approvals.as_approver;
  const view = approvalView(approval, tokenIdentity(tokens.approver), Date.parse(approval.created_at));
  assert.equal(view.canDecide, true);
  assert.equal(view.blocked, "");
  assert.equal(view.tool, "shop.order");
  assert.equal(view.rule, "shop-orders-over-100");
  assert.equal(view.reason, "I will order the nuts.");
  assert.equal(view.impact, approval.impact);
  assert.equal(view.requester, approval.requester);
  assert.deepEqual(JSON.parse(view.argumentsText), approval.arguments);
  assert.match(view.expiresIn, /^in \d+ (min|h)$/);
});

test("the requester sees their request but may not decide it", { skip: missing }, () => {
  const { tokens, approvals } = recording();
  const [approval] = approvals.as_requester;
  const view = approvalView(approval, tokenIdentity(tokens.buyer), Date.parse(approval.created_at));
  assert.equal(view.canDecide, false);
  assert.match(view.blocked, /own request/);
});

test("without an approver role, or once expired or decided, nobody may decide", { skip: missing }, () => {
  const { tokens, approvals } = recording();
  const [approval] = approvals.as_approver;
  const approver = tokenIdentity(tokens.approver);
  const other = { ...approver, user: "someone@acme.example", roles: ["operator"] };
  assert.match(approvalView(approval, other, Date.parse(approval.created_at)).blocked, /Needs one of these roles: approver/);
  const late = approvalView(approval, approver, Date.parse(approval.expires_at) + 1000);
  assert.equal(late.canDecide, false);
  assert.equal(late.expiresIn, "expired");
  const done = approvalView({ ...approval, status: "EXECUTED" }, approver);
  assert.equal(done.canDecide, false);
  assert.equal(done.blocked, "Already executed.");
});

test("modified arguments must be a JSON object", () => {
  assert.deepEqual(parseArguments('{"quantity": 100}'), { ok: true, value: { quantity: 100 } });
  assert.match(parseArguments("{quantity: 100}").error, /^Not valid JSON/);
  assert.match(parseArguments("[1]").error, /JSON object/);
  assert.match(parseArguments("null").error, /JSON object/);
  assert.match(parseArguments("7").error, /JSON object/);
});

test("the health strip lists the database, each server with its sandbox, policy and model", { skip: missing }, () => {
  const { readyz } = recording();
  const view = healthView(readyz);
  assert.equal(view.ready, true);
  assert.deepEqual(view.items.map((i) => i.label), ["database", "memory", "shop", "policy", "model"]);
  const shop = view.items.find((i) => i.label === "shop");
  assert.match(shop.detail, /^sandbox: in-process; 3 tools$/);
  assert.ok(view.items.every((i) => i.ok));
  const down = healthView({ ready: false, database: { ready: false, error: "OperationalError" },
                            servers: [], model: { configured: false, ready: false } });
  assert.deepEqual(down.items.map((i) => [i.label, i.ok, i.detail]),
    [["database", false, "OperationalError"], ["model", false, "not configured"]]);
  assert.deepEqual(healthView(null), { ready: false, items: [] });
});

test("citations keep the claim, whether it is supported, and up to three sources", () => {
  const claims = citationList([
    { text: "Torque is 40 Nm.", supported: true, support: [1, 2, 3, 4].map((n) => ({
      chunk_id: `kb:${n}`, quote: `q${n}`, score: 0.9 })) },
    { text: "Unsupported.", supported: false, support: [] },
    { not: "a claim" },
  ]);
  assert.equal(claims.length, 2);
  assert.deepEqual(claims[0].sources.map((s) => s.chunkId), ["kb:1", "kb:2", "kb:3"]);
  assert.equal(claims[1].supported, false);
  assert.deepEqual(citationList(undefined), []);
});
