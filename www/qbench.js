// qbench page module: loads the wasm package and exposes it as `window.qbench`
// for the runner (over WebDriver) and for the buttons of index.html.
import init, * as wasm from "/pkg/qbench_wasm.js";

// The weights and held-out digits are files beside the module, not bytes in
// it: fetched once, handed over, and checked by the module against the SHA-256
// it was built with (a stale or wrong file fails every call, naming it).
async function fetchBytes(name) {
  const response = await fetch(`/pkg/${name}`);
  if (!response.ok) {
    throw new Error(`fetching /pkg/${name}: HTTP ${response.status}`);
  }
  return new Uint8Array(await response.arrayBuffer());
}

const ready = init().then(async () => {
  const [weights, digits] = await Promise.all(wasm.assetFiles().map(fetchBytes));
  wasm.loadAssets(weights, digits);
  return wasm;
});

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
  const q = await ready;
  const answer = await q.runCell(requestJson);
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
