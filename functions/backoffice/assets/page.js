// The store's lottery page: the counter, receiving, the day close, games
// and the sync with the cloud, over the back office's API on this origin.
"use strict";

const API = "/api/v1/lottery";
const TOKEN_KEY = "tombola-store-token";
const SYNC_EVERY_MS = 60000;
// How soon the sync's state is read again while the store's own sync runs.
const SYNC_WATCH_MS = 500;
const $ = (id) => document.getElementById(id);

// What a clerk is told for each refusal the API names by its type.
const CLERK_WORDS = {
  "pack-exists": "This pack is already in the store.",
  "game-inactive": "This game is no longer sold: the pack cannot be used.",
  "bin-occupied": "That bin already holds a pack.",
  "occupant-changed": "The bin changed meanwhile: look at the counter again.",
  "pack-transition": "That cannot be done to this pack now.",
  "no-open-day": "No day is open: open the day first.",
  "day-not-open": "The day is not open for changes.",
  "day-transition": "The day is not in a state that allows this.",
  "date-not-after": "That date is not after the last day closed.",
  "day-not-closed": "The previous day is not closed yet.",
  "not-found": "The store does not know it.",
};

class ApiFailure extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `status ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401 || response.status === 403) {
    showLogin(token() ? "That store token is wrong." : "");
    throw new ApiFailure(response.status, data || {});
  }
  if (!response.ok) throw new ApiFailure(response.status, data || {});
  return data;
}

// Words for a clerk from a failed call.
function clerkMessage(error) {
  if (!(error instanceof ApiFailure)) return "The store's computer did not answer. Try again.";
  const problem = error.problem;
  const code = (problem.type || "").split("/").pop();
  if (problem.field === "barcode" && error.status === 400) {
    const part = problem.part ? ` (the ${problem.part} number is not complete)` : "";
    return `That barcode could not be read${part}. Scan it again, or type the game and pack below.`;
  }
  if (error.status === 503) return "The store's computer is busy. Try again in a moment.";
  if (CLERK_WORDS[code]) return CLERK_WORDS[code];
  if (error.status === 404) return `Not found: ${problem.detail || ""}`;
  return problem.detail ? `Not accepted: ${problem.detail}.` : "Not accepted.";
}

function money(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

function packName(pack) {
  return `${pack.game}-${String(pack.number).padStart(6, "0")}`;
}

function reading(value) {
  if (value === null || value === undefined) return "";
  return value === "sold_out" ? "sold out" : String(value.next);
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function button(label, onClick, quiet) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (quiet) b.className = "quiet";
  b.addEventListener("click", onClick);
  return b;
}

function notice(text) {
  $("notice").textContent = text;
}

// A modal question; resolves true when the clerk confirms. `extra` is an
// element shown under the question (for example a reading to enter).
function confirmChange(text, extra) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-extra").replaceChildren(...(extra ? [extra] : []));
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function labelled(id, label, input) {
  const wrap = document.createElement("p");
  const l = document.createElement("label");
  l.htmlFor = id;
  l.textContent = label;
  input.id = id;
  wrap.append(l, input);
  return wrap;
}

// ---- state shared by the sections ----
let games = [];
let bins = [];
let received = [];
let day = null;

async function refresh() {
  const [g, b, p] = await Promise.all([
    api("GET", "/games"),
    api("GET", "/bins"),
    api("GET", "/packs?status=RECEIVED"),
  ]);
  games = g.games;
  bins = b.bins;
  received = p.packs;
  try {
    day = await api("GET", "/days/current");
  } catch (error) {
    if (!(error instanceof ApiFailure && error.status === 404)) throw error;
    day = null;
  }
  renderCounter();
  renderReceived();
  renderDay();
  renderGames();
}

function gameOf(code) {
  return games.find((g) => g.code === code);
}

// ---- the counter ----
function renderCounter() {
  $("no-bins").hidden = bins.length > 0;
  $("bins").hidden = bins.length === 0;
  const body = $("bins").tBodies[0];
  body.replaceChildren();
  for (const bin of bins) {
    const row = body.insertRow();
    row.dataset.bin = bin.bin;
    cell(row, String(bin.bin));
    if (!bin.pack) {
      row.className = "empty-bin";
      cell(row, "Empty");
      cell(row, "");
      cell(row, "");
      cell(row, "");
      cell(row, "");
      continue;
    }
    const game = gameOf(bin.pack.game);
    cell(row, game ? `${game.code} ${game.name}` : bin.pack.game);
    cell(row, packName(bin.pack));
    cell(row, money(bin.pack.terms.price));
    cell(row, reading(bin.day_opening) || String(bin.pack.opening));
    const actions = cell(row, "");
    actions.append(
      button("Settle", () => settle(bin), true),
      " ",
      button("Return", () => returnPack(bin.pack, bin.bin), true),
    );
  }
  const form = $("activate");
  form.hidden = bins.length === 0 || received.length === 0;
  const packSelect = $("activate-pack");
  packSelect.replaceChildren(
    ...received.map((p) => new Option(packName(p), `${p.game}/${p.number}`)),
  );
  $("activate-bin").replaceChildren(
    ...bins.map((b) => new Option(b.pack ? `${b.bin} (holds ${packName(b.pack)})` : `${b.bin} (empty)`, b.bin)),
  );
}

// Runs a change, then shows the page as it now is and what changed.
async function act(errorId, work) {
  $(errorId).textContent = "";
  try {
    const done = await work();
    await refresh();
    if (typeof done === "string") notice(done);
    await syncStatus();
  } catch (error) {
    if (!(error instanceof ApiFailure)) console.error(error);
    $(errorId).textContent = clerkMessage(error);
  }
}

async function activate(event) {
  event.preventDefault();
  const [game, number] = $("activate-pack").value.split("/");
  const bin = bins.find((b) => String(b.bin) === $("activate-bin").value);
  const name = `${game}-${number.padStart(6, "0")}`;
  const body = { bin: bin.bin };
  let question = `Pack ${name} goes out into bin ${bin.bin}.`;
  if (bin.pack) {
    question += ` Bin ${bin.bin} holds ${packName(bin.pack)}: it will be settled as sold out.`;
    body.displace = { pack: { game: bin.pack.game, number: bin.pack.number }, action: "settle" };
  }
  if (!(await confirmChange(question))) return;
  await act("activate-error", async () => {
    await api("POST", `/packs/${game}/${number}/activate`, body);
    return `Pack ${name} is out in bin ${bin.bin}.`;
  });
}

async function settle(bin) {
  const question = `Pack ${packName(bin.pack)} in bin ${bin.bin} is sold out and leaves the bin; the bin becomes empty.`;
  if (!(await confirmChange(question))) return;
  await act("activate-error", async () => {
    await api("POST", `/packs/${bin.pack.game}/${bin.pack.number}/settle`);
    return `Pack ${packName(bin.pack)} is settled.`;
  });
}

async function returnPack(pack, binNumber) {
  let question = `Pack ${packName(pack)} goes back to the distributor.`;
  let next = null;
  if (binNumber !== undefined) {
    question += ` Bin ${binNumber} becomes empty.`;
    next = document.createElement("input");
    next.type = "number";
    next.min = "0";
    next.required = true;
  }
  const extra = next ? labelled("return-next", "Next ticket in the pack", next) : null;
  if (!(await confirmChange(question, extra))) return;
  const body = next ? { reading: { next: Number(next.value) } } : {};
  await act(binNumber === undefined ? "manual-error" : "activate-error", async () => {
    await api("POST", `/packs/${pack.game}/${pack.number}/return`, body);
    return `Pack ${packName(pack)} is returned.`;
  });
}

async function createBins(event) {
  event.preventDefault();
  await act("bins-error", () => api("POST", "/bins", { count: Number($("bin-count").value) }));
}

// ---- receiving ----
let parsed = null;

async function readBarcode(event) {
  event.preventDefault();
  $("barcode-error").textContent = "";
  $("parsed").hidden = true;
  parsed = null;
  const barcode = $("barcode").value.trim();
  if (!barcode) {
    $("barcode-error").textContent = "Scan a barcode first.";
    return;
  }
  try {
    const result = await api("POST", "/barcodes/parse", { barcode });
    parsed = { barcode, result };
    const game = result.known_game ? `${result.game} ${result.known_game.name}` : `${result.game} (a game the store does not know yet)`;
    const known = result.known_pack ? ` The store already has this pack (${result.known_pack.status.toLowerCase()}).` : "";
    $("parsed-text").textContent = `Game ${game}, pack ${packName({ game: result.game, number: result.pack })}.${known}`;
    $("parsed").hidden = false;
    $("save-pack").focus();
  } catch (error) {
    $("barcode-error").textContent = clerkMessage(error);
    $("barcode").select();
  }
}

async function savePack() {
  const { barcode, result } = parsed;
  await act("barcode-error", async () => {
    await api("POST", "/packs", { barcode });
    $("barcode").value = "";
    $("parsed").hidden = true;
    parsed = null;
    return `Pack ${packName({ game: result.game, number: result.pack })} received.`;
  });
  $("barcode").focus();
}

function discardPack() {
  $("barcode-error").textContent = "";
  $("parsed").hidden = true;
  parsed = null;
  $("barcode").value = "";
  $("barcode").focus();
}

async function receiveManual(event) {
  event.preventDefault();
  const game = $("manual-game").value.trim();
  const number = Number($("manual-number").value);
  await act("manual-error", async () => {
    await api("POST", "/packs", { game, number });
    $("manual").reset();
    return `Pack ${packName({ game, number })} received.`;
  });
}

function renderReceived() {
  $("no-received").hidden = received.length > 0;
  $("received").replaceChildren(
    ...received.map((pack) => {
      const li = document.createElement("li");
      const game = gameOf(pack.game);
      li.append(`${packName(pack)} ${game ? game.name : ""} `, button("Return", () => returnPack(pack), true));
      return li;
    }),
  );
}

// ---- the day close ----
function renderDay() {
  const status = day ? day.status : null;
  $("no-day").hidden = status === "OPEN" || status === "PENDING_CLOSE";
  $("counts").hidden = status !== "OPEN";
  $("prepared").hidden = status !== "PENDING_CLOSE";
  if (!$("day-date").value) $("day-date").value = new Date().toISOString().slice(0, 10);
  if (status === "OPEN") renderCounts();
  if (status === "PENDING_CLOSE") renderPrepared();
}

function renderCounts() {
  $("open-text").textContent = `Day ${day.date} is open. Enter or scan each bin's next ticket.`;
  const body = $("counts").querySelector("tbody");
  body.replaceChildren();
  for (const bin of bins.filter((b) => b.pack)) {
    const row = body.insertRow();
    row.dataset.bin = bin.bin;
    cell(row, String(bin.bin));
    cell(row, packName(bin.pack));
    cell(row, reading(bin.day_opening) || String(bin.pack.opening));
    const next = document.createElement("input");
    next.type = "number";
    next.min = "0";
    next.id = `next-${bin.bin}`;
    next.setAttribute("aria-label", `Bin ${bin.bin} next ticket`);
    next.dataset.game = bin.pack.game;
    next.dataset.number = bin.pack.number;
    // A scanner ends with Enter: move to the next bin instead of submitting.
    next.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      const inputs = [...body.querySelectorAll("input[type=number]")];
      const after = inputs[inputs.indexOf(next) + 1];
      if (after) after.focus();
      else $("counts").requestSubmit();
    });
    cell(row, "").append(next);
    const soldOut = document.createElement("input");
    soldOut.type = "checkbox";
    soldOut.id = `sold-out-${bin.bin}`;
    soldOut.setAttribute("aria-label", `Bin ${bin.bin} sold out`);
    soldOut.addEventListener("change", () => {
      next.disabled = soldOut.checked;
    });
    cell(row, "").append(soldOut);
  }
}

async function prepare(event) {
  event.preventDefault();
  const counts = [];
  for (const next of $("counts").querySelector("tbody").querySelectorAll("input[type=number]")) {
    const soldOut = next.disabled;
    if (!soldOut && next.value === "") {
      $("counts-error").textContent = `Enter the next ticket of ${next.getAttribute("aria-label").replace(" next ticket", "")}.`;
      next.focus();
      return;
    }
    counts.push({
      pack: { game: next.dataset.game, number: Number(next.dataset.number) },
      reading: soldOut ? "sold_out" : { next: Number(next.value) },
    });
  }
  await act("counts-error", () => api("POST", `/days/${day.date}/prepare`, { counts }));
}

function renderPrepared() {
  const close = day.close;
  $("prepared-text").textContent = `Close of ${day.date}, prepared: check it, then commit or cancel.`;
  const body = $("prepared").querySelector("tbody");
  body.replaceChildren();
  for (const bin of close.bins) {
    const row = body.insertRow();
    row.dataset.bin = bin.bin;
    cell(row, `Bin ${bin.bin}`);
    cell(row, String(bin.tickets));
    cell(row, money(bin.amount));
  }
  $("total-tickets").textContent = String(close.tickets);
  $("total-amount").textContent = money(close.amount);
  $("variances").replaceChildren(
    ...close.variances.map((v) => {
      const li = document.createElement("li");
      li.textContent = `Bin ${v.bin}, pack ${packName(v.pack)}: ${v.kind.replaceAll("_", " ")}`;
      return li;
    }),
  );
}

async function commitClose() {
  if (!(await confirmChange(`The close of ${day.date} becomes final: ${money(day.close.amount)} in sales.`))) return;
  const date = day.date;
  await act("close-error", async () => {
    await api("POST", `/days/${date}/commit`);
    return `Day ${date} is closed.`;
  });
}

async function cancelClose() {
  if (!(await confirmChange(`The prepared close is dropped and day ${day.date} is open again.`))) return;
  await act("close-error", () => api("POST", `/days/${day.date}/cancel`));
}

async function openDay(event) {
  event.preventDefault();
  await act("day-error", () => api("POST", "/days", { date: $("day-date").value }));
}

// ---- games ----
function renderGames() {
  $("no-games").hidden = games.length > 0;
  $("game-list").hidden = games.length === 0;
  $("game-list").tBodies[0].replaceChildren(
    ...games.map((game) => {
      const row = document.createElement("tr");
      cell(row, game.code);
      cell(row, game.name);
      cell(row, money(game.price));
      cell(row, String(game.tickets_per_pack));
      cell(row, game.status.toLowerCase());
      return row;
    }),
  );
}

async function refreshGames() {
  await sync();
  await refresh();
}

// ---- the sync with the cloud ----
// The store app may predate the sync routes: a 404 there means no sync.
let syncAvailable = true;
let syncing = false;
// No cloud configured for this store: said so, never as an error.
const SYNC_OFF = "no cloud is configured for this store";
let syncOff = false;

function showSync(state, label, detail) {
  const badge = $("sync-state");
  badge.className = `badge ${state}`;
  badge.textContent = label;
  badge.title = "";
  $("sync-detail").textContent = detail || "";
}

function minutesAgo(millis) {
  const minutes = Math.floor((Date.now() - millis) / 60000);
  if (minutes < 1) return "last synced just now";
  return minutes === 1 ? "last synced 1 minute ago" : `last synced ${minutes} minutes ago`;
}

// When it last synced, what waits and what the cloud refused, with the
// reason of each refusal listed under the badge.
function syncDetail(status) {
  const times = status.entities.map((e) => e.last_synced_at).filter((t) => t !== null);
  const last = times.length ? minutesAgo(Math.max(...times)) : "never synced";
  $("dead-letters").replaceChildren(
    ...status.dead.map((dead) => {
      const li = document.createElement("li");
      li.textContent = `Not accepted by the cloud: ${dead.name} (${dead.reason || "no reason given"})`;
      return li;
    }),
  );
  return `${last}; ${status.pending} pending, ${status.dead.length} dead-lettered`;
}

// The cloud not answering, or answering that it cannot work now, shows as
// "Cloud unreachable": the store keeps working and sends what waits later.
function showSyncStatus(status, error) {
  const detail = syncDetail(status);
  const failed = error || status.entities.map((e) => e.status === "error" && e.last_error).find(Boolean);
  if (!navigator.onLine) showSync("offline", "Offline", detail);
  else if (failed) {
    showSync("offline", "Cloud unreachable", `${detail}; the store keeps working and sends them when the cloud is back`);
    $("sync-state").title = failed;
  } else showSync("synced", "Synced", detail);
  $("sync-now").hidden = false;
}

// A sync of the store's own is running: say so, and read its state again
// soon, until it ends.
function followSync(status) {
  showSync("syncing", "Syncing", syncDetail(status));
  setTimeout(syncStatus, SYNC_WATCH_MS);
}

// The sync's state as the store holds it, after a write at the counter
// (which the store pushes by itself once the write is answered), without
// a sync of the page's own.
async function syncStatus() {
  if (!syncAvailable || syncing) return;
  try {
    const status = await api("GET", "/sync");
    if (syncOff) showSync("", "Sync off", `${SYNC_OFF}; ${syncDetail(status)}`);
    else if (status.syncing) followSync(status);
    else showSyncStatus(status);
  } catch (error) {
    if (!(error instanceof ApiFailure)) showSync("offline", "Offline", "the store's computer did not answer");
  }
}

async function sync() {
  if (!syncAvailable) {
    showSync("", "Sync not available", "this store app has no sync");
    return;
  }
  if (syncing || !token()) return;
  syncing = true;
  showSync("syncing", "Syncing", $("sync-detail").textContent);
  try {
    const answer = await api("POST", "/sync");
    syncOff = false;
    // Another sync (a write's own) may hold the lease: follow it to its end.
    if (answer.status.syncing) followSync(answer.status);
    else showSyncStatus(answer.status, answer.report.error);
    // Games or bins that came down from the cloud show at once.
    if (answer.report.games > 0 || answer.report.bins > 0) await refresh();
  } catch (error) {
    if (error instanceof ApiFailure && (error.status === 404 || error.status === 405)) {
      syncAvailable = false;
      showSync("", "Sync not available", "this store app has no sync");
    } else if (error instanceof ApiFailure && error.problem.type && error.problem.type.endsWith("/sync-off")) {
      syncOff = true;
      const status = await api("GET", "/sync").catch(() => null);
      showSync("", "Sync off", status ? `${SYNC_OFF}; ${syncDetail(status)}` : SYNC_OFF);
    } else if (!(error instanceof ApiFailure)) {
      showSync("offline", "Offline", "the store's computer did not answer");
    } else {
      showSync("error", "Sync error", clerkMessage(error));
    }
  } finally {
    syncing = false;
  }
}

// ---- signing in ----
function showLogin(message) {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
}

async function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  try {
    await refresh();
    await sync();
  } catch (error) {
    if (!(error instanceof ApiFailure && (error.status === 401 || error.status === 403))) {
      notice(clerkMessage(error));
    }
  }
}

function wire() {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    start();
  });
  $("create-bins").addEventListener("submit", createBins);
  $("activate").addEventListener("submit", activate);
  $("scan").addEventListener("submit", readBarcode);
  $("save-pack").addEventListener("click", savePack);
  $("discard-pack").addEventListener("click", discardPack);
  $("manual").addEventListener("submit", receiveManual);
  $("open-day").addEventListener("submit", openDay);
  $("counts").addEventListener("submit", prepare);
  $("commit-close").addEventListener("click", commitClose);
  $("cancel-close").addEventListener("click", cancelClose);
  $("refresh-games").addEventListener("click", refreshGames);
  $("sync-now").addEventListener("click", sync);
  window.addEventListener("online", sync);
  window.addEventListener("offline", () => showSync("offline", "Offline", $("sync-detail").textContent));
  setInterval(sync, SYNC_EVERY_MS);
  if (token()) start();
  else showLogin("");
}

wire();
