// The console page: sign in, chat (streamed), approvals, health. Rendering uses textContent
// only: nothing the host or the model sends is ever parsed as HTML.

import {
  applyRunRecord, approvalView, citationList, describeError, healthView, initialRun, interruptRun,
  parseArguments, readSse, reduceRun, tokenIdentity, usageLine,
} from "./model.js";

const TOKEN_KEY = "tessera.token"; // sessionStorage: this tab only, gone when it closes
const CONVERSATION_KEY = "tessera.conversation";
const HEALTH_EVERY_MS = 20000;
const PAUSED_POLL_MS = 3000;

const $ = (id) => document.getElementById(id);

/** An API path ("/v1/chat") relative to the console's folder, so a proxy's path prefix is kept. */
const hostUrl = (path) => new URL(`..${path}`, document.baseURI).toString();

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// --- identity -------------------------------------------------------------------------------

let token = sessionStorage.getItem(TOKEN_KEY);
let me = null;

function signIn(raw) {
  const cleaned = raw.trim().replace(/^Bearer\s+/i, "");
  const identity = tokenIdentity(cleaned);
  if (!identity.ok) return identity.error;
  if (identity.expired) return "This token has expired; make a new one.";
  sessionStorage.setItem(TOKEN_KEY, cleaned);
  token = cleaned;
  me = identity;
  return null;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(CONVERSATION_KEY);
  token = null;
  me = null;
  $("transcript").replaceChildren();
  $("approval-list").replaceChildren();
  $("token").value = "";
  show();
}

function showIdentity() {
  const roles = me.roles.length ? me.roles.join(", ") : "no roles";
  const expires = me.expiresAt ? ` · until ${new Date(me.expiresAt * 1000).toLocaleTimeString()}` : "";
  // Display only, from the default claim names (sub, tenant, roles); the host decides.
  $("who").textContent = `${me.user || "?"} @ ${me.tenant || "?"} · ${roles}${expires}`;
}

// --- HTTP -----------------------------------------------------------------------------------

async function call(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await fetch(hostUrl(path), {
      method: options.method || "GET", headers, cache: "no-store",
      body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
    });
  } catch {
    return null; // the host is unreachable
  }
}

async function failure(response) {
  if (response === null) return describeError(0, { human_message: "The host could not be reached." }, null);
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return describeError(response.status, body, response.headers.get("Retry-After"));
}

function errorBlock(error) {
  const block = el("div", "error");
  block.setAttribute("role", "alert");
  block.append(el("strong", "", `${error.title}: `), el("span", "", error.message));
  if (error.hint) block.append(el("div", "hint", error.hint));
  if (error.signOut) {
    const again = el("button", "", "Sign in again");
    again.type = "button";
    again.addEventListener("click", signOut);
    block.append(again);
  }
  return block;
}

// --- chat -----------------------------------------------------------------------------------

function renderRun(item, run) {
  const children = [el("p", "question", run.message)];
  for (const tool of run.tools) {
    const line = el("div", `tool tool-${tool.state}`);
    const status = tool.state === "running" ? "…" : tool.state === "ok" ? "ok" : `error: ${tool.errorCategory || "?"}`;
    const took = tool.durationMs !== null ? ` · ${Math.round(tool.durationMs)} ms` : "";
    line.append(el("code", "", tool.tool), el("span", "", ` ${status}${took}`));
    line.append(el("pre", "args", JSON.stringify(tool.arguments, null, 2)));
    children.push(line);
  }
  if (run.approval) {
    const banner = el("div", "approval-banner");
    banner.append(el("strong", "", "Approval required: "),
      el("code", "", run.approval.tool), el("span", "", " is waiting for an approver (request "),
      el("code", "", run.approval.id), el("span", "", "). "));
    if (run.approval.details.impact) banner.append(el("div", "", String(run.approval.details.impact)));
    const link = el("a", "", "Open in approvals");
    link.href = `#approvals/${encodeURIComponent(run.approval.id)}`;
    banner.append(link);
    children.push(banner);
  }
  if (run.answer) children.push(el("div", "answer", run.answer));
  const claims = citationList(run.citations);
  if (claims.length) {
    const list = el("ol", "citations");
    for (const claim of claims) {
      const entry = el("li", claim.supported ? "supported" : "unsupported", claim.claim);
      for (const source of claim.sources) {
        entry.append(el("blockquote", "", source.quote), el("cite", "", source.chunkId));
      }
      list.append(entry);
    }
    children.push(list);
  }
  for (const note of run.notes) children.push(el("p", "note", typeof note === "string" ? note : JSON.stringify(note)));
  if (run.error) children.push(errorBlock({ title: run.error.category, message: run.error.message, hint: run.error.hint }));
  const status = run.status === "paused" ? "paused: waiting for an approver"
    : run.status === "handed_over" ? "continuing on another host process" : run.status;
  const meta = [status, run.resumed && "resumed after approval", run.runId && `run ${run.runId}`,
                usageLine(run.usage, run.cost)].filter(Boolean);
  children.push(el("p", "meta", meta.join(" · ")));
  item.className = `run run-${run.status}`;
  item.replaceChildren(...children);
}

function setConversation(id) {
  if (id) sessionStorage.setItem(CONVERSATION_KEY, id);
  else sessionStorage.removeItem(CONVERSATION_KEY);
  $("conversation").textContent = id || "new";
}

async function ask(message) {
  const item = el("li");
  $("transcript").append(item);
  let run = initialRun(message);
  const draw = () => {
    renderRun(item, run);
    item.scrollIntoView({ block: "end" });
  };
  draw();
  const body = { message };
  const conversation = sessionStorage.getItem(CONVERSATION_KEY);
  if (conversation) body.conversation_id = conversation;
  const response = await call("/v1/chat", { method: "POST", json: body, headers: { Accept: "text/event-stream" } });
  if (response === null || !response.ok) {
    const error = await failure(response);
    $("transcript").removeChild(item);
    const failed = el("li", "run run-failed");
    failed.append(el("p", "question", message), errorBlock(error));
    $("transcript").append(failed);
    return;
  }
  setConversation(response.headers.get("X-Tessera-Conversation") || conversation);
  try {
    await readSse(response, (event) => {
      run = reduceRun(run, event);
      if (event.event === "approval_required") refreshApprovals();
      draw();
    });
  } catch {
    // the connection dropped; interruptRun says so
  }
  run = interruptRun(run, "The connection to the host was lost before the run finished.");
  if (run.conversationId) setConversation(run.conversationId); // also when a proxy drops the header
  draw();
  if (["paused", "handed_over"].includes(run.status) && run.runId) {
    awaitDecision(run, (next) => { run = next; draw(); }); // its answer comes from the run record
  }
}

/** A paused run resumes once an approver decides (a handed-over one goes on elsewhere); read its answer back. */
function awaitDecision(run, update) {
  const signedInAs = token;
  const poll = async () => {
    if (token !== signedInAs) return; // signed out: stop
    const response = await call(`/v1/runs/${encodeURIComponent(run.runId)}`);
    if (response && response.ok) {
      const next = applyRunRecord(run, await response.json());
      if (next !== run) {
        update(next);
        return;
      }
    } else if (response && response.status !== 429 && response.status < 500) {
      return; // 401/403/404: polling will not help
    }
    setTimeout(poll, PAUSED_POLL_MS);
  };
  setTimeout(poll, PAUSED_POLL_MS);
}

// --- approvals ------------------------------------------------------------------------------

async function decide(card, view, action, extra = {}) {
  const error = card.querySelector(".card-error");
  error.hidden = true;
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  const note = card.querySelector(".note").value;
  const response = await call(`/v1/approvals/${encodeURIComponent(view.id)}/${action}`,
    { method: "POST", json: { note, ...extra } });
  if (response && response.ok) {
    await refreshApprovals();
    return;
  }
  const problem = await failure(response);
  error.replaceChildren(errorBlock(problem));
  error.hidden = false;
  for (const button of card.querySelectorAll("button")) button.disabled = false;
}

function renderApproval(approval) {
  const view = approvalView(approval, me);
  const card = $("approval-card").content.firstElementChild.cloneNode(true);
  card.dataset.id = view.id;
  const set = (selector, text) => { card.querySelector(selector).textContent = text; };
  set(".tool", view.tool);
  set(".status", view.status);
  set(".impact", view.impact);
  set(".reason", view.reason || "(none given)");
  set(".requester", view.requester);
  set(".rule", view.rule);
  set(".expires", view.expiresAt ? `${new Date(view.expiresAt).toLocaleString()} (${view.expiresIn})` : "");
  set(".id", view.id);
  set(".arguments", view.argumentsText);
  set(".blocked", view.blocked);
  card.querySelector(".decide").hidden = !view.canDecide;
  card.querySelector(".approve").addEventListener("click", () => decide(card, view, "approve"));
  card.querySelector(".reject").addEventListener("click", () => decide(card, view, "reject"));
  const box = card.querySelector(".modify-box");
  const edited = card.querySelector(".new-arguments");
  const state = card.querySelector(".json-state");
  const approveModified = card.querySelector(".approve-modified");
  const check = () => {
    const parsed = parseArguments(edited.value);
    state.textContent = parsed.ok ? "Valid JSON; the host re-checks it against the tool and the policy." : parsed.error;
    state.className = parsed.ok ? "json-state ok" : "json-state error";
    approveModified.disabled = !parsed.ok;
    return parsed;
  };
  card.querySelector(".modify").addEventListener("click", () => {
    edited.value = view.argumentsText;
    box.hidden = false;
    check();
  });
  edited.addEventListener("input", check);
  card.querySelector(".cancel-modify").addEventListener("click", () => { box.hidden = true; });
  approveModified.addEventListener("click", () => {
    const parsed = check();
    if (parsed.ok) decide(card, view, "modify", { arguments: parsed.value });
  });
  return card;
}

async function refreshApprovals() {
  if (!token) return;
  const status = $("approval-status").value;
  const response = await call(status ? `/v1/approvals?status=${encodeURIComponent(status)}` : "/v1/approvals");
  const message = $("approvals-message");
  if (response === null || !response.ok) {
    message.replaceChildren(errorBlock(await failure(response)));
    message.hidden = false;
    return;
  }
  message.hidden = true;
  const { approvals } = await response.json();
  $("approval-list").replaceChildren(...approvals.map(renderApproval));
  if (!approvals.length) $("approval-list").append(el("li", "empty", `No ${status || ""} approvals.`));
  if (status === "pending") {
    const decidable = approvals.filter((a) => approvalView(a, me).canDecide).length;
    $("pending-count").textContent = String(decidable);
    $("pending-count").hidden = decidable === 0;
  }
  highlightFromHash();
}

function highlightFromHash() {
  const [, id] = location.hash.split("/");
  for (const card of $("approval-list").querySelectorAll(".card")) {
    const wanted = id && card.dataset.id === decodeURIComponent(id);
    card.classList.toggle("wanted", !!wanted);
    if (wanted) card.scrollIntoView({ block: "center" });
  }
}

// --- health ---------------------------------------------------------------------------------

async function refreshHealth() {
  let readyz = null;
  try {
    const response = await fetch(hostUrl("/readyz"), { cache: "no-store" });
    readyz = await response.json();
  } catch {
    readyz = null;
  }
  const view = healthView(readyz);
  const items = view.items.map((item) => {
    const chip = el("li", item.ok ? "ok" : "down", item.label);
    if (item.detail) chip.title = item.detail;
    chip.append(el("small", "", item.detail ? ` ${item.detail}` : ""));
    return chip;
  });
  if (!items.length) items.push(el("li", "down", "host unreachable"));
  $("health").replaceChildren(...items);
}

// --- page -----------------------------------------------------------------------------------

function show() {
  const signedIn = !!token && !!me;
  $("sign-in").hidden = signedIn;
  $("tabs").hidden = !signedIn;
  $("identity").hidden = !signedIn;
  const onApprovals = location.hash.startsWith("#approvals");
  $("chat").hidden = !signedIn || onApprovals;
  $("approvals").hidden = !signedIn || !onApprovals;
  $("tab-chat").classList.toggle("active", !onApprovals);
  $("tab-approvals").classList.toggle("active", onApprovals);
  if (signedIn) {
    showIdentity();
    setConversation(sessionStorage.getItem(CONVERSATION_KEY));
    if (onApprovals) refreshApprovals();
  }
}

function start() {
  if (token) {
    const identity = tokenIdentity(token);
    if (identity.ok && !identity.expired) me = identity;
    else signOut();
  }
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const problem = signIn($("token").value);
    $("sign-in-error").textContent = problem || "";
    $("sign-in-error").hidden = !problem;
    if (!problem) $("token").value = "";
    show();
    refreshApprovals();
  });
  $("sign-out").addEventListener("click", signOut);
  $("new-conversation").addEventListener("click", () => {
    setConversation(null);
    $("transcript").replaceChildren();
  });
  $("chat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    $("message").value = "";
    $("send").disabled = true;
    try {
      await ask(text);
    } finally {
      $("send").disabled = false;
      $("message").focus();
    }
  });
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("chat-form").requestSubmit();
  });
  $("approval-status").addEventListener("change", refreshApprovals);
  $("refresh-approvals").addEventListener("click", refreshApprovals);
  window.addEventListener("hashchange", show);
  show();
  refreshApprovals();
  refreshHealth();
  setInterval(() => { if (!document.hidden) refreshHealth(); }, HEALTH_EVERY_MS);
}

start();
