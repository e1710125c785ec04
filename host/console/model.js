// The console's pure half: no DOM, no network of its own, so Node's test runner covers it.
//
//   createSseParser / readSse   Server-Sent Events from a fetch() body (EventSource cannot POST)
//   initialRun / reduceRun      a chat run's events folded into one view model
//   applyRunRecord              a paused run's outcome, read back after the approver decided
//   describeError               an HTTP error response as a title, message and hint
//   approvalView / parseArguments   what the approvals panel shows and lets the user do
//   tokenIdentity / healthView  who the pasted token says you are; the /readyz strip
//
// Everything here returns plain data; app.js renders it with textContent only.

/** An incremental SSE parser (WHATWG rules): feed it text chunks cut anywhere. */
export function createSseParser(onEvent) {
  let buffer = "";
  let name = "";
  let data = [];
  let id = "";

  function line(text) {
    if (text === "") {
      if (data.length > 0) onEvent({ event: name || "message", data: data.join("\n"), id });
      name = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // a comment (keep-alive ping)
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) id = value;
  }

  function drain(final) {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (match === null) break;
      // A chunk ending in "\r" may be half of "\r\n": wait for the next one.
      if (match[0] === "\r" && match.index === buffer.length - 1 && !final) break;
      line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  }

  return {
    push(chunk) {
      buffer += chunk;
      drain(false);
    },
    end() {
      drain(true);
      // An unterminated last event is dropped, as the SSE spec says.
      buffer = "";
      name = "";
      data = [];
    },
  };
}

/** Read a fetch() Response body as SSE, calling onEvent({event, data, id}) for each event. */
export async function readSse(response, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  const parser = createSseParser(onEvent);
  try {
    for (;;) {
      if (signal && signal.aborted) break;
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}

/** The view model of a chat run before its first event. */
export function initialRun(message) {
  return {
    message,
    runId: null,
    conversationId: null,
    status: "starting", // starting | running | paused | handed_over | finished | failed
    answer: "",
    citations: [],
    notes: [],
    tools: [],
    approval: null,
    usage: null,
    cost: null,
    error: null,
    resumed: false,
  };
}

function parsed(data) {
  if (typeof data !== "string") return data ?? {};
  try {
    const value = JSON.parse(data);
    return value !== null && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

/** Fold one SSE event ({event, data}) into the run's view model; returns a new object. */
export function reduceRun(state, sse) {
  const data = parsed(sse.data);
  const next = { ...state, runId: state.runId || data.run_id || null };
  switch (sse.event) {
    case "run_started":
      return { ...next, status: "running", conversationId: data.conversation_id ?? null };
    case "tool_call_started":
      return {
        ...next,
        tools: [...state.tools, {
          id: data.id, tool: data.tool, arguments: data.arguments ?? {},
          state: "running", durationMs: null, errorCategory: null,
        }],
      };
    case "tool_call_finished": {
      const finished = (call) => ({
        ...call,
        state: data.is_error ? "error" : "ok",
        durationMs: typeof data.duration_ms === "number" ? data.duration_ms : null,
        errorCategory: data.error_category ?? null,
      });
      const known = state.tools.some((call) => call.id === data.id);
      const tools = known
        ? state.tools.map((call) => (call.id === data.id ? finished(call) : call))
        : [...state.tools, finished({ id: data.id, tool: data.tool, arguments: {} })];
      return { ...next, tools };
    }
    case "approval_required": {
      const { run_id: _run, approval_id: approvalId, tool, ...details } = data;
      return { ...next, approval: { id: approvalId, tool, details } };
    }
    case "token":
      return { ...next, answer: state.answer + (typeof data.delta === "string" ? data.delta : "") };
    case "answer":
      return {
        ...next,
        // The answer event is authoritative: streamed tokens may have been partial.
        answer: typeof data.text === "string" ? data.text : state.answer,
        citations: Array.isArray(data.citations) ? data.citations : [],
        notes: Array.isArray(data.notes) ? data.notes : [],
      };
    case "run_finished": {
      // handed_over: another host process took the run over; it finishes there.
      const status = ["finished", "paused", "handed_over", "failed"].includes(data.status) ? data.status : "finished";
      const error = data.error_category
        ? { category: data.error_category, message: data.human_message || "The run failed.",
            hint: data.model_fix_hint || "" }
        : state.error;
      return { ...next, status, usage: data.usage ?? null, cost: data.cost ?? data.usage?.cost ?? null, error };
    }
    default:
      return next; // an event this console does not know yet: ignored, not fatal
  }
}

/** A run the stream left without a run_finished (connection lost) ends here. */
export function interruptRun(state, message) {
  if (["finished", "paused", "handed_over", "failed"].includes(state.status)) return state;
  return { ...state, status: "failed",
           error: { category: "network", message, hint: "The run may still finish; ask again to see." } };
}

/** A paused run's record (GET /v1/runs/{id}) once an approver decided: its final answer. */
export function applyRunRecord(state, record) {
  if (!record || typeof record !== "object" || !["finished", "failed"].includes(record.status)) {
    return state; // still paused (or running again): keep waiting
  }
  const answers = (Array.isArray(record.events) ? record.events : []).filter((e) => e && e.kind === "answer");
  const payload = answers.length ? answers[answers.length - 1].payload || {} : {};
  return {
    ...state,
    status: record.status,
    resumed: true,
    answer: typeof payload.text === "string" ? payload.text : state.answer,
    citations: Array.isArray(payload.citations) ? payload.citations : state.citations,
    usage: record.usage ?? state.usage,
    cost: typeof record.usage?.cost === "number" ? record.usage.cost : state.cost,
  };
}

const TITLES = {
  400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
  409: "Conflict", 422: "Invalid request", 429: "Slow down", 500: "Host error",
  502: "Upstream error", 503: "Unavailable", 504: "Timed out",
};

/** An error response (status, parsed JSON body or null, Retry-After header) for display. */
export function describeError(status, body, retryAfterHeader) {
  const payload = body && typeof body === "object" ? body : {};
  const retry = Number.parseInt(retryAfterHeader ?? "", 10);
  const retryAfterS = Number.isFinite(retry) ? retry
    : typeof payload.retry_after_s === "number" ? Math.max(1, Math.round(payload.retry_after_s)) : null;
  const message = typeof payload.human_message === "string" && payload.human_message
    ? payload.human_message : `The host answered HTTP ${status}.`;
  // model_fix_hint is written for a model; only some categories' hints help a person.
  let hint = payload.error_category === "upstream_unavailable" && typeof payload.model_fix_hint === "string"
    ? payload.model_fix_hint : "";
  if (status === 401) hint = "Paste a fresh token (tessera token --audience tessera ...) and sign in again.";
  if (status === 429 && retryAfterS !== null) hint = `Try again in ${retryAfterS} s.`;
  return {
    status,
    category: payload.error_category || (status === 0 ? "network" : "http"),
    title: TITLES[status] || (status === 0 ? "Host unreachable" : `HTTP ${status}`),
    message,
    hint,
    retryAfterS,
    signOut: status === 401,
  };
}

function base64UrlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  const binary = atob(b64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8").decode(bytes);
}

/** Who a JWT says you are, for display only (the host verifies; the console never trusts this). */
export function tokenIdentity(token, nowS = Date.now() / 1000) {
  const parts = (token || "").trim().replace(/^Bearer\s+/i, "").split(".");
  if (parts.length !== 3) return { ok: false, error: "That is not a JWT (three dot-separated parts)." };
  let claims;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1]));
  } catch {
    return { ok: false, error: "The token's payload is not readable JSON." };
  }
  if (claims === null || typeof claims !== "object") return { ok: false, error: "The token has no claims." };
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String)
    : typeof claims.roles === "string" ? claims.roles.split(/\s+/).filter(Boolean) : [];
  const exp = typeof claims.exp === "number" ? claims.exp : null;
  return {
    ok: true,
    tenant: typeof claims.tenant === "string" ? claims.tenant : "",
    user: typeof claims.sub === "string" ? claims.sub : "",
    roles,
    clearance: typeof claims.clearance === "string" ? claims.clearance : "",
    audience: claims.aud ?? "",
    expiresAt: exp,
    expired: exp !== null && exp <= nowS,
  };
}

/** What the approvals panel shows for one approval, and what this user may do with it. */
export function approvalView(approval, me, nowMs = Date.now()) {
  const expiresMs = Date.parse(approval.expires_at);
  const pending = approval.status === "PROPOSED";
  const expired = pending && Number.isFinite(expiresMs) && expiresMs <= nowMs;
  const own = !!me && approval.requester === me.user;
  const roles = new Set(me ? me.roles : []);
  const holdsRole = (approval.approver_roles || []).some((role) => roles.has(role));
  let blocked = "";
  if (!pending) blocked = `Already ${String(approval.status).toLowerCase()}.`;
  else if (expired) blocked = "Expired: the call will not be made.";
  else if (own) blocked = "Your own request: another approver must decide it.";
  else if (!holdsRole) blocked = `Needs one of these roles: ${(approval.approver_roles || []).join(", ")}.`;
  return {
    id: approval.id,
    tool: approval.tool,
    status: approval.status,
    argumentsText: JSON.stringify(approval.arguments ?? {}, null, 2),
    impact: approval.impact || "",
    reason: approval.reason || "",
    rule: approval.rule || "",
    requester: approval.requester || "",
    expiresAt: approval.expires_at || "",
    expiresIn: Number.isFinite(expiresMs) ? humanDuration(expiresMs - nowMs) : "",
    runId: approval.run_id || null,
    canDecide: blocked === "",
    blocked,
  };
}

function humanDuration(ms) {
  if (ms <= 0) return "expired";
  const minutes = Math.round(ms / 60000);
  if (minutes < 1) return "in under a minute";
  if (minutes < 120) return `in ${minutes} min`;
  return `in ${Math.round(minutes / 60)} h`;
}

/** The approver's edited arguments: a JSON object, or why not (the host re-checks either way). */
export function parseArguments(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error.message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, error: "The arguments must be a JSON object ({...})." };
  }
  return { ok: true, value };
}

/** The health strip: one item per checked part of /readyz. */
export function healthView(readyz) {
  if (!readyz || typeof readyz !== "object") return { ready: false, items: [] };
  const items = [];
  if (readyz.database) {
    items.push({ label: "database", ok: !!readyz.database.ready, detail: readyz.database.error || "" });
  }
  for (const server of Array.isArray(readyz.servers) ? readyz.servers : []) {
    const detail = [server.confinement && `sandbox: ${server.confinement}`,
                    typeof server.tools === "number" ? `${server.tools} tools` : "",
                    server.last_error || ""].filter(Boolean).join("; ");
    items.push({ label: String(server.name ?? "server"), ok: !!server.ready, detail });
  }
  if (readyz.policy) {
    items.push({ label: "policy", ok: !readyz.policy.reload_error,
                 detail: readyz.policy.reload_error || "" });
  }
  if (readyz.model) {
    const model = readyz.model;
    items.push({
      label: "model",
      ok: !!model.ready,
      detail: !model.configured ? "not configured" : model.error || (model.status ? `HTTP ${model.status}` : ""),
    });
  }
  return { ready: !!readyz.ready, items };
}

/** The run's usage line, e.g. "2 tool calls · 240 tokens in · 40 out · $0.0012". */
export function usageLine(usage, cost) {
  if (!usage) return "";
  const parts = [];
  if (typeof usage.tool_calls === "number") parts.push(`${usage.tool_calls} tool call${usage.tool_calls === 1 ? "" : "s"}`);
  if (typeof usage.tokens_in === "number") parts.push(`${usage.tokens_in} tokens in`);
  if (typeof usage.tokens_out === "number") parts.push(`${usage.tokens_out} out`);
  const spent = typeof cost === "number" ? cost : usage.cost;
  if (typeof spent === "number") parts.push(`cost ${spent.toFixed(4)}`);
  return parts.join(" · ");
}

/** The answer's claim-level citations, trimmed to what the chat shows. */
export function citationList(citations) {
  return (Array.isArray(citations) ? citations : [])
    .filter((claim) => claim && typeof claim.text === "string")
    .map((claim) => ({
      claim: claim.text,
      supported: !!claim.supported,
      sources: (Array.isArray(claim.support) ? claim.support : []).slice(0, 3).map((s) => ({
        chunkId: String(s.chunk_id ?? ""),
        quote: String(s.quote ?? ""),
        score: typeof s.score === "number" ? s.score : null,
      })),
    }));
}
