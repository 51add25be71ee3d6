// Compiled (not run) by tests/e2e/package.mjs against the installed package: a website's
// TypeScript that uses mount's options, the controller, the run record and the element.
import { type BackendChoice, type Controller, type MountOptions, mount, type RunRecord } from "density-guidance";

const options: MountOptions = { model: "fashion", method: "dg", q: 0.3, compare: "0.2,0.8", ui: "canvas" };

export async function firstLogp(element: HTMLElement): Promise<number | undefined> {
  const demo: Controller = await mount(element, options);
  const record: RunRecord | null = await demo.run({ steps: 8 });
  demo.dispose();
  return record?.lanes?.[0].logp_final[0] ?? record?.trajectory.at(-1)?.mean;
}

const tag = document.createElement("density-guidance");
tag.addEventListener("ready", () => tag.controller?.stop());

tag.addEventListener("backendchoice", (event) => {
  const choice: BackendChoice = (event as CustomEvent<BackendChoice>).detail;
  const perForward: number | null | undefined = choice.measurement?.webgpu_ms_per_forward;
  console.log(choice.backend, choice.basis, choice.reason, perForward, tag.controller?.backendChoice?.reason);
});
