// qbench page module: loads the wasm package and exposes it as `window.qbench`
// for the runner (over WebDriver) and for the buttons of index.html.
//
// The package has three modules: `qbench_wasm` (burn-wgpu without burn-flex:
// the probe and the WebGPU cells), `qbench_cpu` (burn-flex without wgpu, a
// fraction of the size: the CPU cells) and `qbench_cpu_relaxed` (the same,
// with int8-compute's kernels on relaxed SIMD: the int8-compute CPU cells
// where the browser validates it). Each is loaded on first use, so a page
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

// A module whose function uses `i32x4.relaxed_dot_i8x16_i7x16_add_s`: it
// validates where the browser has relaxed SIMD.
const RELAXED_SIMD = WebAssembly.validate(new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0,
  10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x93, 0x02, 0x0b,
]));

// The name of the module that runs `request`'s backend.
function moduleName(request) {
  if (request.backend !== "cpu") return "qbench_wasm";
  return RELAXED_SIMD && request.precision === "int8-compute" ? "qbench_cpu_relaxed" : "qbench_cpu";
}

// The module that runs `request` from the package at `dir`, and its name: a
// package built before the relaxed-SIMD module runs its CPU cells on qbench_cpu.
async function moduleFor(dir, request) {
  let name = moduleName(request);
  if (name === "qbench_cpu_relaxed" && !(await fetch(`${dir}/${name}.js`, { method: "HEAD" })).ok) {
    name = "qbench_cpu";
  }
  return { name, q: await module(dir, name) };
}

const full = () => module("/pkg", "qbench_wasm");

// Every cell is driven from here, one call into the module per inference:
// the browser swaps in a function's optimised code only when the function is
// called anew (there is no on-stack replacement for wasm), so a loop inside the
// module would keep whatever the loop inlined at the baseline tier for the
// whole cell.
//
// The cell's sides are open in one page: this build's alone, or with the
// other side's (the baseline package's, or TF.js's) for a paired cell. Their
// warm-up inferences alternate until every side has settled (the browser
// compiles each module's optimised code in the background for a second or
// more), then their warm samples alternate (on even pairs in the order given,
// on odd ones reversed) until every sampling plan is met, so a machine that
// slows down for a while slows both alike. Resolves to the sides' responses.
async function drive(open) {
  // A package built before warmCell warmed up in openCell.
  let warming = open.filter((s) => typeof s.q.warmCell === "function");
  for (let pair = 0; warming.length > 0; pair++) {
    const order = pair % 2 === 0 ? warming : [...warming].reverse();
    const settled = [];
    for (const s of order) {
      if (!(await s.q.warmCell(s.handle))) settled.push(s);
    }
    warming = warming.filter((s) => !settled.includes(s));
  }
  for (let pair = 0; ; pair++) {
    const order = pair % 2 === 0 ? open : [...open].reverse();
    let met = true;
    for (const s of order) {
      met = (await s.q.sampleCell(s.handle)) && met;
    }
    if (met) break;
  }
  const answers = [];
  for (const s of open) {
    answers.push(JSON.parse(await s.q.finishCell(s.handle)));
  }
  return answers;
}

// Opens the cell in module `q`: its handle, or its failed response.
async function open(q, requestJson, judge) {
  const opened = JSON.parse(await q.openCell(requestJson, judge));
  return opened.handle === undefined ? { answer: opened } : { q, handle: opened.handle };
}

// A cell of this build alone.
async function runAlone(request, requestJson) {
  const { name, q } = await moduleFor("/pkg", request);
  const side = await open(q, requestJson);
  return { ...(side.answer ?? (await drive([side]))[0]), module: name };
}

// A paired cell: side 0 is the other side, side 1 this build. Which side
// opens (and runs its first inference) first is drawn per page. Resolves to
// this build's response with the other side's as `baseline`.
async function runPaired(request, requestJson) {
  const pkg = await moduleFor("/pkg", request);
  const base = request.paired === "tfjs" ? undefined : await moduleFor("/base", request);
  // TF.js is told when it has settled by this build's rule, so both sides
  // settle alike.
  const judge = request.paired === "tfjs" ? warmupJudge(pkg.q, request.plan) : undefined;
  const modules = [async () => base?.q ?? (await import("./tfjs.js")), async () => pkg.q];
  const sides = [];
  for (const side of Math.random() < 0.5 ? [0, 1] : [1, 0]) {
    sides[side] = await open(await modules[side](), requestJson, judge);
  }
  const running = sides.filter((s) => s.answer === undefined);
  const answers = await drive(running);
  const answer = (side) => sides[side].answer ?? answers[running.indexOf(sides[side])];
  const [other, ours] = [answer(0), answer(1)];
  // A side without a sampling plan of its own (TF.js) stopped with the pairs.
  if (other.status === "ok") {
    other.stop ??= ours.stop;
  }
  if (base) {
    other.module = base.name;
  }
  return { ...ours, module: pkg.name, baseline: other };
}

// The warm-up rule of module `q` for sampling plan `plan`, for a side that is
// not a qbench module: whether warm-up inferences that took `times` (ms) want
// another, their record for the response, and how many inferences each of
// its timed samples covers.
function warmupJudge(q, plan) {
  const json = JSON.stringify(plan);
  return {
    wants: (times) => q.wantsWarmup(json, Float64Array.from(times)),
    record: (times) => JSON.parse(q.warmupRecord(json, Float64Array.from(times))),
    // Inferences per timed sample, by this build's rule (a package built
    // before repetitions: one).
    repetitions: (times) =>
      typeof q.sampleRepetitions === "function" ? q.sampleRepetitions(json, Float64Array.from(times)) : 1,
  };
}

// Runs one cell. `requestJson` is a qbench CellRequest; its optional `paired`
// ("package": run it against the baseline package at /base/; "tfjs": against
// TF.js, served at /base/) pairs it. The answer names the module that ran it.
async function runCell(requestJson) {
  const request = JSON.parse(requestJson);
  const answer = request.paired
    ? await runPaired(request, requestJson)
    : await runAlone(request, requestJson);
  if (answer.baseline) {
    answer.baseline.module ??= answer.module;
  }
  return JSON.stringify(answer);
}

window.qbench = {
  probe: async (powerPreference) => (await full()).probe(powerPreference ?? undefined),
  runCell,
  summarize: async (samples) => JSON.parse((await full()).summarize(Float64Array.from(samples))),
  matrix: async () => JSON.parse((await full()).matrix()),
};
