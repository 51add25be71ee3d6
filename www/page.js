// The demo page (index.html): mounts the demo with the URL's settings. A bare URL (no query,
// or one naming none of the settings, such as a tracking parameter) runs the first-visit view
// at once; a query with settings runs only with run=1, so a link's settings are never
// overridden. The last run's record is kept on window for tests (dgLastRun: undefined
// while a run is going, null after a failure).
import { mount } from "./dg.js";
import { FIRST_VISIT, optionsFromQuery } from "./settings.js";

const params = new URLSearchParams(location.search);
const fromQuery = optionsFromQuery(params);
const namesSetting = Object.keys(fromQuery).some((name) => name !== "trace");
const isBare = !namesSetting && !params.has("run");
const options = isBare ? { ...FIRST_VISIT, trace: fromQuery.trace } : fromQuery;
options.url = true; // keep the URL in step with the form, so a link reproduces the run
const demoElement = document.getElementById("demo");
demoElement.addEventListener("runstart", () => {
  window.dgLastRun = undefined;
});
demoElement.addEventListener("done", (event) => {
  window.dgLastRun = event.detail;
});
try {
  const demo = await mount(demoElement, options);
  window.dgDemo = demo;
  if (isBare || params.get("run") === "1") {
    // the URL's values go to the sampler as they are (a slider would clamp q=1.5 silently)
    demo.run().catch(() => {});
  }
} catch (error) {
  document.getElementById("boot").textContent = `the demo could not start: ${error.message}`;
}
