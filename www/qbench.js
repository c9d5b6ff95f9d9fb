// qbench page module: loads the wasm package and exposes it as `window.qbench`
// for the runner (over WebDriver) and for the buttons of index.html.
import init, * as wasm from "/pkg/qbench_wasm.js";

// The weights and held-out digits are files beside the module, not bytes in
// it: fetched once, handed over, and checked by the module against the SHA-256
// it was built with (a stale or wrong file fails every call, naming it).
async function fetchBytes(dir, name) {
  const response = await fetch(`${dir}/${name}`);
  if (!response.ok) {
    throw new Error(`fetching ${dir}/${name}: HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

async function load(dir, module, initModule) {
  await initModule();
  const [weights, digits] = await Promise.all(module.assetFiles().map((n) => fetchBytes(dir, n)));
  module.loadAssets(weights, digits);
  return module;
}

const ready = load("/pkg", wasm, init);

// The baseline package (`qbench run --baseline-pkg`), served at /base/: a
// second, separate module instance in the same page, loaded on first use.
let baselineReady = null;
function baseline() {
  baselineReady ??= import("/base/qbench_wasm.js").then((module) => {
    if (typeof module.openCell !== "function") {
      throw new Error("the baseline package cannot run paired cells: it was built before qbench had openCell; rebuild it");
    }
    return load("/base", module, module.default);
  });
  return baselineReady;
}

// A paired cell: the baseline package's and this build's cells open in one
// page, their warm samples taken alternately (baseline first on even pairs,
// this build first on odd ones) until both sampling plans are met, so a
// machine that slows down for a while slows both alike. Resolves to this
// build's response with the baseline's as `baseline`.
async function runPaired(requestJson) {
  const modules = [await baseline(), await ready];
  const opened = [];
  for (const q of modules) {
    opened.push(JSON.parse(await q.openCell(requestJson)));
  }
  const open = modules
    .map((q, side) => ({ q, side, handle: opened[side].handle }))
    .filter((s) => s.handle !== undefined);
  for (let pair = 0; open.length > 0; pair++) {
    const order = pair % 2 === 0 ? open : [...open].reverse();
    let met = true;
    for (const s of order) {
      met = (await s.q.sampleCell(s.handle)) && met;
    }
    if (met) break;
  }
  for (const s of open) {
    opened[s.side] = JSON.parse(await s.q.finishCell(s.handle));
  }
  return JSON.stringify({ ...opened[1], baseline: opened[0] });
}

// Runs one cell. `requestJson` is a qbench CellRequest; the optional `fault`
// field ("throw" | "hang" | "garble") is a testing aid that fails the cell on
// purpose (`qbench run --fault-precision P --fault F`, used by the tests).
async function runCell(requestJson) {
  const request = JSON.parse(requestJson);
  if (request.fault === "throw") {
    throw new Error("injected fault: the cell threw");
  }
  if (request.fault === "hang") {
    for (;;) { /* injected fault: the main thread never yields */ }
  }
  const answer = request.paired ? await runPaired(requestJson) : await (await ready).runCell(requestJson);
  if (request.fault === "garble") {
    // Keeps what was measured but breaks the protocol: an unknown status.
    return JSON.stringify({ ...JSON.parse(answer), status: "garbled" });
  }
  return answer;
}

window.qbench = {
  ready,
  probe: async (powerPreference) => (await ready).probe(powerPreference ?? undefined),
  runCell,
  summarize: async (samples) => JSON.parse((await ready).summarize(Float64Array.from(samples))),
  matrix: async () => JSON.parse((await ready).matrix()),
};
