// The short text beside the picture: what the visitor is looking at, in words, for the
// chosen model, method and lanes. No DOM.
import { imageModelOf } from "./models.js";
import { DEFAULTS, dgStartOf, usesQ } from "./settings.js";

const METHODS = {
  plain: "the plain ODE (no guidance): samples land at whatever log p they happen to have",
  prior: "Prior Guidance: the starting noise is scaled to the radius of the q-quantile, then the plain ODE runs",
  dg: "Density Guidance: log p is held at its q-quantile all the way from noise to data",
  "dg-exact": "Density Guidance to a target: every sample's log p is steered to the target",
  sdg: "Stochastic Density Guidance: noise is added in a λ window while log p is held at its q-quantile",
};

const PLOT =
  "The plot follows log p (up: more typical) along λ from noise (left) to data (right), one colour per lane.";

/** What the images show: the chosen class, or the model's items. */
function itemsOf(image, options) {
  const named = options.class !== "any" && options.class !== "" && image.classes[Number(options.class)];
  return named ? `${named} images` : image.items;
}

/** An image's size in words: "28×28" or "32×32 colour". */
function sizeOf(image) {
  const colour = image.channels === 3 ? " colour" : "";
  return `${image.side}×${image.side}${colour}`;
}

/** DG's words, with where its push starts when that is not the whole path. */
function methodWords(options) {
  const start = options.method === "dg" ? dgStartOf(options) : null;
  if (start === null || start <= Number(options.lambdaMin ?? DEFAULTS.lambdaMin)) {
    return METHODS[options.method] ?? "";
  }
  return `Density Guidance: the plain ODE lays down the shapes up to λ = ${start}, then log p is held at its q-quantile down to the data`;
}

/** A few sentences on what a run with `options` over the lanes `qs` shows. */
export function describe(options, qs) {
  const how = methodWords(options);
  const image = imageModelOf(options.model);
  const images = image !== undefined;
  const subject = images
    ? `${image.title} ${itemsOf(image, options)} (${sizeOf(image)}), generated from noise; every integration step is drawn.`
    : `Particles flowing from noise to the ${options.model} distribution over a heat map of its density; every step is drawn.`;
  const effect = images
    ? "Low q asks for low density: more texture and detail. High q: smoother, plainer images."
    : "Low q pushes the particles out to the thin edges; high q gathers them in the dense cores.";
  const lanes =
    qs.length > 1
      ? `Side by side, the same starting noise at q = ${qs.join(", ")}. `
      : "Move q and the picture re-runs at the new q from the same noise. ";
  const aboutQ = usesQ(options.method) ? lanes + effect : "";
  return `${subject} Method: ${how}. ${aboutQ} ${PLOT}`.replace(/\s+/g, " ").trim();
}
