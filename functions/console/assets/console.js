// The operators' console: pools (stock, odds, draws, audit and the
// operator's actions), the state API and the lottery cloud, over this
// app's APIs on the same origin, with the admin token of this session.
"use strict";

const TOKEN_KEY = "tombola-admin-token";
const FEED_SIZE = 100;
const $ = (id) => document.getElementById(id);

class ApiFailure extends Error {
  constructor(status, body) {
    const message = body && (body.detail || (body.error && body.error.message));
    super(message || `status ${status}`);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401 || response.status === 403) {
    showLogin("That admin token is wrong.");
  }
  if (!response.ok) throw new ApiFailure(response.status, data);
  return data;
}

// The state API answers in an envelope.
async function state(path) {
  return (await api("GET", `/api/v1/state${path}`)).data;
}

function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function cell(row, text) {
  row.appendChild(element("td", text));
}

function percent(x) {
  return `${(x * 100).toFixed(1)}%`;
}

function notice(text) {
  $("notice").textContent = text;
}

function confirmChange(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function requestId(what) {
  return `console-${what}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

// ---- pools ----
let pool = null;

async function listPools() {
  const { pools } = await api("GET", "/v1/pools");
  $("no-pools").hidden = pools.length > 0;
  $("pool-list").replaceChildren(
    ...pools.map((p) => {
      const li = element("li");
      const open = element("button", p.id, "link");
      open.type = "button";
      open.addEventListener("click", () => showPool(p.id));
      li.append(open, ` ${p.name} (${p.mode}, ${p.items} items)`);
      return li;
    }),
  );
}

async function showPool(id) {
  pool = await api("GET", `/v1/pools/${encodeURIComponent(id)}`);
  const after = Math.max(0, pool.seq - FEED_SIZE);
  const log = await api("GET", `/v1/pools/${encodeURIComponent(id)}/log?after=${after}&limit=${FEED_SIZE}`);
  $("pool").hidden = false;
  $("audit").hidden = true;
  $("pool-title").textContent = `Pool ${pool.id}: ${pool.name}`;
  $("pool-summary").textContent =
    `${pool.closed ? "Closed" : "Open"}; ${pool.mode} mode; entry ${pool.seq}, snapshot at ${pool.snapshot_seq}.`;
  renderStock();
  renderDraws(log.entries);
  $("restock-item").replaceChildren(
    ...pool.items.filter((i) => i.stock !== null).map((i) => new Option(i.id, i.id)),
  );
}

function renderStock() {
  const body = $("stock").tBodies[0];
  body.replaceChildren();
  for (const item of pool.items) {
    const row = body.insertRow();
    row.dataset.item = item.id;
    cell(row, item.id);
    const remaining = element("td");
    if (item.remaining === null) {
      remaining.textContent = "unlimited";
    } else {
      const bar = element("div", "", "bar");
      bar.style.width = `${Math.min(100, (100 * item.remaining) / Math.max(item.stock, item.remaining, 1))}%`;
      bar.setAttribute("aria-hidden", "true");
      remaining.append(String(item.remaining), bar);
    }
    row.appendChild(remaining);
    cell(row, item.stock === null ? "unlimited" : String(item.stock));
    cell(row, percent(item.odds.approximate));
  }
}

// What the log's draws gave, item by item, against the odds published now.
function renderDraws(entries) {
  const draws = entries.filter((e) => e.outcome && e.outcome.kind === "draw");
  $("no-draws").hidden = draws.length > 0;
  $("feed").replaceChildren(
    ...draws.slice(-20).reverse().map((e) => {
      const failed = e.outcome.failed ? `, ${e.outcome.failed} failed` : "";
      return element("li", `#${e.seq}: ${e.outcome.drawn.join(", ") || "nothing"}${failed}`);
    }),
  );
  const counts = new Map(pool.items.map((i) => [i.id, 0]));
  let total = 0;
  for (const e of draws) {
    for (const item of e.outcome.drawn) {
      counts.set(item, (counts.get(item) || 0) + 1);
      total += 1;
    }
  }
  $("chart").replaceChildren(
    ...pool.items.map((item) => {
      const drawn = total ? counts.get(item.id) / total : 0;
      const row = element("div", undefined, "chart-row");
      row.dataset.item = item.id;
      const published = element("div", "", "bar");
      published.style.width = percent(item.odds.approximate);
      const got = element("div", "", "bar drawn");
      got.style.width = percent(drawn);
      const bars = element("div");
      bars.append(published, got);
      row.append(element("span", item.id), bars, element("span", `${percent(item.odds.approximate)} / ${percent(drawn)}`));
      return row;
    }),
  );
  $("chart-note").textContent = `${total} items drawn in the last ${entries.length} entries of the log.`;
}

async function poolAction(work) {
  $("pool-error").textContent = "";
  try {
    const message = await work();
    await showPool(pool.id);
    if (message) notice(message);
  } catch (error) {
    $("pool-error").textContent = error.message;
  }
}

async function runAudit() {
  $("pool-error").textContent = "";
  try {
    const report = await api("GET", `/v1/pools/${encodeURIComponent(pool.id)}/audit`);
    $("audit").hidden = false;
    const good = report.conserved && report.mismatches.length === 0;
    const verdict = $("audit-verdict");
    verdict.className = good ? "ok" : "error";
    verdict.textContent = good
      ? `Audit passed: ${report.entries_replayed} entries replayed, ${report.outcomes_checked} outcomes checked, stock conserved.`
      : `Audit failed: ${report.mismatches.length} mismatches${report.conserved ? "" : ", stock not conserved"}.`;
    const details = [
      `replayed from entry ${report.replayed_from} to ${report.last_seq}`,
      `${report.unrecorded} outcomes not recorded`,
      ...report.mismatches.map((m) => `mismatch: ${JSON.stringify(m)}`),
    ];
    if (report.conservation_break) details.push(`books first break at ${JSON.stringify(report.conservation_break)}`);
    $("audit-details").replaceChildren(...details.map((d) => element("li", d)));
  } catch (error) {
    $("pool-error").textContent = error.message;
  }
}

async function recover() {
  if (!(await confirmChange(`Pool ${pool.id}: replay, write a snapshot and move the log into the archive.`))) return;
  await poolAction(async () => {
    const answer = await api("POST", `/v1/pools/${encodeURIComponent(pool.id)}/recover`);
    return `Pool ${pool.id} recovered${answer && answer.seq !== undefined ? ` at entry ${answer.seq}` : ""}.`;
  });
}

async function restock(event) {
  event.preventDefault();
  const item = $("restock-item").value;
  const quantity = Number($("restock-quantity").value);
  if (!(await confirmChange(`Add ${quantity} of ${item} to pool ${pool.id}.`))) return;
  await poolAction(async () => {
    const answer = await api("POST", `/v1/pools/${encodeURIComponent(pool.id)}/restock`, {
      item,
      quantity,
      request_id: requestId("restock"),
    });
    return `Restocked: ${item} now has ${answer.outcome.remaining}.`;
  });
}

async function closePool() {
  if (!(await confirmChange(`Close pool ${pool.id}? No one can draw from it after this.`))) return;
  await poolAction(async () => {
    await api("POST", `/v1/pools/${encodeURIComponent(pool.id)}/close`);
    return `Pool ${pool.id} is closed.`;
  });
}

// ---- the state API ----
let following = false;
let revision = 0;

async function browse(event) {
  if (event) event.preventDefault();
  $("state-error").textContent = "";
  try {
    const listing = await state(`/keys?prefix=${encodeURIComponent($("prefix").value)}&limit=100`);
    revision = listing.revision;
    $("keys-summary").textContent = `${listing.total} ${listing.total === 1 ? "key" : "keys"} at revision ${listing.revision}.`;
    $("keys").replaceChildren(
      ...listing.keys.map((key) => {
        const li = element("li");
        const open = element("button", key, "link");
        open.type = "button";
        open.addEventListener("click", () => showKey(key));
        li.append(open);
        return li;
      }),
    );
  } catch (error) {
    $("state-error").textContent = error.message;
  }
}

async function showKey(key) {
  const path = key.split("/").map(encodeURIComponent).join("/");
  try {
    const entry = await state(`/${path}?include_metadata=true`);
    $("entry").hidden = false;
    $("entry-key").textContent = entry.key;
    $("entry-version").textContent =
      `version ${entry.version}, created at revision ${entry.create_revision}, by ${entry.source}, ${new Date(entry.updated_at).toISOString()}`;
    $("entry-value").textContent = JSON.stringify(entry.value, null, 2);
    $("entry-metadata").textContent = JSON.stringify(entry.metadata, null, 2);
  } catch (error) {
    $("state-error").textContent = error.message;
  }
}

// The feed is long-polled: ask again after the last revision seen.
async function follow() {
  following = !following;
  $("follow").textContent = following ? "Stop following" : "Follow changes";
  while (following) {
    try {
      const page = await state(`/events?after=${revision}&wait=5&limit=100`);
      for (const event of page.events) {
        $("events").prepend(element("li", `r${event.revision} ${event.type} ${event.key} by ${event.source}`));
      }
      revision = page.next_after;
    } catch (error) {
      $("state-error").textContent = error.message;
      following = false;
      $("follow").textContent = "Follow changes";
    }
  }
}

// ---- the lottery cloud (an app without it answers 404) ----
async function lottery() {
  try {
    const { games } = await api("GET", "/v1/lottery/games");
    $("lottery-body").hidden = false;
    $("lottery-missing").hidden = true;
    $("lottery-games").replaceChildren(
      // Each game comes with the revision of its last change.
      ...games.map(({ record: g }) => element("li", `${g.code} ${g.name}, ${(g.price / 100).toFixed(2)} a ticket, ${g.status}`)),
    );
    await listStores();
  } catch (error) {
    if (!(error instanceof ApiFailure) || error.status !== 404) throw error;
    $("lottery-missing").hidden = false;
    $("lottery-body").hidden = true;
  }
}

// "never", "just now", "5 minutes ago", ... from a time in ms.
function ago(ms) {
  if (ms === null || ms === undefined) return "never";
  const minutes = Math.floor((Date.now() - ms) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"} ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

function when(row, ms) {
  const td = element("td", ago(ms));
  if (ms !== null && ms !== undefined) td.title = new Date(ms).toISOString();
  row.appendChild(td);
}

let storesAfter = null;

// One page of the stores' directory; `more` appends the next page.
async function listStores(more) {
  const query = more && storesAfter ? `?after=${encodeURIComponent(storesAfter)}` : "";
  const page = await api("GET", `/v1/lottery/stores${query}`);
  const rows = page.stores.map((store) => {
    const row = element("tr");
    const name = element("td");
    const open = element("button", store.name, "link");
    open.type = "button";
    open.setAttribute("aria-label", `Show store ${store.name} (${store.store})`);
    open.addEventListener("click", () => openStore(store.store));
    name.appendChild(open);
    row.appendChild(name);
    cell(row, store.store);
    when(row, store.last_push_at);
    when(row, store.last_pull_at);
    const clients = Object.entries(store.clients).map(([client, last]) => `${client}: ${last}`);
    cell(row, clients.length ? clients.join(", ") : "none");
    return row;
  });
  if (more) $("stores-rows").append(...rows);
  else $("stores-rows").replaceChildren(...rows);
  storesAfter = page.next;
  $("stores-more").hidden = page.next === null;
  $("stores-empty").hidden = $("stores-rows").children.length > 0;
  $("stores").hidden = !$("stores-empty").hidden;
}

function listed(list, items, describe) {
  const lines = items.length ? items.map((item) => element("li", describe(item))) : [element("li", "none", "empty")];
  $(list).replaceChildren(...lines);
}

function showStore(event) {
  event.preventDefault();
  openStore($("store-id").value.trim());
}

// A store's page: its registration and times, bins, packs and closes.
async function openStore(storeId) {
  $("store-error").textContent = "";
  const id = encodeURIComponent(storeId);
  try {
    const [store, bins, packs, closes] = await Promise.all(
      ["", "/bins", "/packs", "/closes"].map((part) => api("GET", `/v1/lottery/stores/${id}${part}`)),
    );
    $("store-title").textContent = `${store.name} (${store.store})`;
    const times = { created_at: 1, key_rotated_at: 1, last_push_at: 1, last_pull_at: 1 };
    $("store-details").replaceChildren(
      ...Object.entries(store).flatMap(([name, value]) => [
        element("dt", name.replaceAll("_", " ")),
        element("dd", name in times ? ago(value) : typeof value === "object" ? JSON.stringify(value) : String(value)),
      ]),
    );
    listed("store-bins", (bins.bins || []).filter((b) => !b.record.removed), (b) => `Bin ${b.record.number}`);
    listed("store-packs", packs.packs || [], (p) => `${p.pack.game}-${p.pack.number} ${p.pack.status}`);
    listed("store-closes", closes.closes || [], (c) => JSON.stringify(c));
    $("store-panel").hidden = false;
    $("store-title").focus();
  } catch (error) {
    $("store-error").textContent = error.message;
  }
}

// ---- signing in ----
function showLogin(message) {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
}

async function start() {
  try {
    // A token the state API takes is the admin token or the reader's.
    await state("/stats");
  } catch (error) {
    if (error instanceof ApiFailure && (error.status === 401 || error.status === 403)) return;
    showLogin(`The app did not answer: ${error.message}`);
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  try {
    await Promise.all([listPools(), browse(), lottery()]);
  } catch (error) {
    notice(error.message);
  }
}

function wire() {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    start();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    following = false;
    showLogin("");
  });
  $("run-audit").addEventListener("click", runAudit);
  $("recover").addEventListener("click", recover);
  $("restock").addEventListener("submit", restock);
  $("close-pool").addEventListener("click", closePool);
  $("browse").addEventListener("submit", browse);
  $("follow").addEventListener("click", follow);
  $("store-lookup").addEventListener("submit", showStore);
  $("stores-more").addEventListener("click", () => listStores(true).catch((error) => notice(error.message)));
  if (sessionStorage.getItem(TOKEN_KEY)) start();
  else showLogin("");
}

wire();
