// The page a person sees under `qbench serve`: probe the browser, pick cells,
// run them and read the results. Uses the same `window.qbench` as the runner.
import "/qbench.js";

const $ = (id) => document.getElementById(id);
const fmt = (x, digits = 3) => (x === null || x === undefined ? "" : Number(x).toFixed(digits));

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

async function probe() {
  $("probe").textContent = "probing…";
  const p = JSON.parse(await window.qbench.probe());
  $("probe").textContent = JSON.stringify(p, null, 2);
}

// The run's defaults, from the server (one place: the runner's `defaults` module).
const defaults = fetch("/defaults.json").then((r) => r.json());

async function runSelected() {
  const { backends, precisions } = await window.qbench.matrix();
  const { plan } = await defaults;
  const chosenBackends = backends.filter((b) => $(`backend-${b}`).checked);
  const chosenPrecisions = precisions.filter((p) => $(`precision-${p}`).checked);
  const batch = Number($("batch").value);
  for (const backend of chosenBackends) {
    for (const precision of chosenPrecisions) {
      $("status").textContent = `running ${backend} ${precision} batch ${batch}…`;
      const request = {
        backend, precision, batch,
        plan: { ...plan, max_samples: Number($("samples").value) },
        quality_inputs: 0, quality_batch: 100,
      };
      const r = JSON.parse(await window.qbench.runCell(JSON.stringify(request)));
      let stats = {};
      if (r.status === "ok") stats = await window.qbench.summarize(r.samples_ms);
      $("results").appendChild(row([
        backend, precision, batch, r.status, fmt(r.first_ms), fmt(stats.median), fmt(stats.p95),
        r.samples_ms.length, r.reason ?? "",
      ]));
    }
  }
  $("status").textContent = "done (a WebGPU device is set up once per page: reload before running f16-native after other precisions)";
}

async function setup() {
  const { backends, precisions } = await window.qbench.matrix();
  const { plan, batch } = await defaults;
  $("samples").value = plan.max_samples;
  $("batch").value = batch[0];
  for (const b of backends) $("backends").insertAdjacentHTML("beforeend", `<label><input type="checkbox" id="backend-${b}" checked> ${b}</label> `);
  for (const p of precisions) $("precisions").insertAdjacentHTML("beforeend", `<label><input type="checkbox" id="precision-${p}" ${p === "f16-native" ? "" : "checked"}> ${p}</label> `);
  $("isolated").textContent = String(window.crossOriginIsolated);
  $("probe-button").onclick = probe;
  $("run-button").onclick = runSelected;
}

setup();
