// The fixture site's own script: the custom element above runs by itself; here mount() runs a
// Fashion-MNIST demo with its full controls. Results go to window.siteResults for the test.
import { mount } from "density-guidance";

window.siteResults = {};
document.getElementById("element").addEventListener("done", (event) => {
  window.siteResults.element = event.detail;
});
try {
  const options = { model: "fashion", method: "dg", q: 0.3, steps: 4, batch: 2, backend: "cpu" };
  const demo = await mount(document.getElementById("mounted"), options);
  window.siteResults.mounted = await demo.run();
} catch (error) {
  window.siteResults.mounted = { error: error.message };
}
