// qbench page module: loads the wasm package and exposes it as `window.qbench`
// for the runner (over WebDriver) and for the buttons of index.html.
//
// The package has two modules: `qbench_wasm` (WebGPU and CPU: the probe, the
// WebGPU cells, `qbench serve`) and `qbench_cpu` (burn-flex without wgpu, a
// fraction of the size: the CPU cells). Each is loaded on first use, so a page
// that runs one cell loads only the module that cell needs.

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

const loaded = new Map();

// Module `name` of the package served at `dir` (/pkg, or /base for the
// baseline package of a paired run), instantiated with its files.
function module(dir, name) {
  const url = `${dir}/${name}.js`;
  if (!loaded.has(url)) {
    loaded.set(url, import(url).then(async (m) => {
      if (typeof m.openCell !== "function") {
        throw new Error(`${url} cannot run paired cells: it was built before qbench had openCell; rebuild it`);
      }
      await m.default();
      const [weights, digits] = await Promise.all(m.assetFiles().map((n) => fetchBytes(dir, n)));
      m.loadAssets(weights, digits);
      return m;
    }));
  }
  return loaded.get(url);
}

// The name of the module that runs `request`'s backend.
const moduleName = (request) => (request.backend === "cpu" ? "qbench_cpu" : "qbench_wasm");
const moduleFor = (dir, request) => module(dir, moduleName(request));

const full = () => module("/pkg", "qbench_wasm");

// A paired cell: the other side's cell (the baseline package's, or TF.js's)
// and this build's open in one page, their warm samples taken alternately
// (the other side first on even pairs, this build first on odd ones) until
// both sampling plans are met, so a machine that slows down for a while slows
// both alike. Resolves to this build's response with the other side's as
// `baseline`.
async function runPaired(request, requestJson) {
  // Side 0 is the other side, side 1 this build. Which side is instantiated
  // and warmed up first is drawn per page: a module opened second can land in
  // a slower state, and that must not always be the same side.
  const sides = [
    () => (request.paired === "tfjs" ? import("./tfjs.js") : moduleFor("/base", request)),
    () => moduleFor("/pkg", request),
  ];
  const modules = [];
  const opened = [];
  for (const side of Math.random() < 0.5 ? [0, 1] : [1, 0]) {
    modules[side] = await sides[side]();
    opened[side] = JSON.parse(await modules[side].openCell(requestJson));
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
  // A side without a sampling plan of its own (TF.js) stopped with the pairs.
  if (opened[0].status === "ok") {
    opened[0].stop ??= opened[1].stop;
  }
  return JSON.stringify({ ...opened[1], baseline: opened[0] });
}

// Runs one cell. `requestJson` is a qbench CellRequest with two optional
// fields: `paired` ("package": run it against the baseline package at /base/;
// "tfjs": against TF.js, served at /base/) and
// `fault` ("throw" | "hang" | "garble"), a testing aid that fails the cell on
// purpose (`qbench run --fault-precision P --fault F`, used by the tests). The
// answer names the module that ran it.
async function runCell(requestJson) {
  const request = JSON.parse(requestJson);
  if (request.fault === "throw") {
    throw new Error("injected fault: the cell threw");
  }
  if (request.fault === "hang") {
    for (;;) { /* injected fault: the main thread never yields */ }
  }
  const answer = JSON.parse(request.paired
    ? await runPaired(request, requestJson)
    : await (await moduleFor("/pkg", request)).runCell(requestJson));
  answer.module = moduleName(request);
  if (answer.baseline) {
    answer.baseline.module ??= answer.module;
  }
  if (request.fault === "garble") {
    // Keeps what was measured but breaks the protocol: an unknown status.
    answer.status = "garbled";
  }
  return JSON.stringify(answer);
}

window.qbench = {
  probe: async (powerPreference) => (await full()).probe(powerPreference ?? undefined),
  runCell,
  summarize: async (samples) => JSON.parse((await full()).summarize(Float64Array.from(samples))),
  matrix: async () => JSON.parse((await full()).matrix()),
};
