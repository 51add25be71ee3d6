// The shipped models: which are the 2-D lab's and which draw images, the shape of an image
// model's samples, its classes and the weights file the page loads. No DOM, no wasm.

/** The 2-D lab's models. */
export const LAB_MODELS = ["moons", "8gaussians", "checkerboard", "gmm", "gmm-exact"];

/** The class-conditional image models: samples are rows of channels × side × side values in
 * [-1, 1], channel-major (C×H×W), as the CLI writes them. */
const IMAGE_MODELS = {
  fashion: {
    title: "Fashion-MNIST",
    items: "garments",
    channels: 1,
    side: 28,
    dgStart: -2,
    classes: ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"],
  },
  emoji: {
    title: "Noto Color Emoji",
    items: "images",
    channels: 3,
    side: 32,
    dgStart: -2,
    // the groups of Unicode's emoji-test.txt, in its order (label 9 is the null label)
    classes: [
      "Smileys & Emotion",
      "People & Body",
      "Animals & Nature",
      "Food & Drink",
      "Travel & Places",
      "Activities",
      "Objects",
      "Symbols",
      "Flags",
    ],
  },
};

export const MODELS = [...LAB_MODELS, ...Object.keys(IMAGE_MODELS)];

/** An image model's description ({title, items, channels, side, dgStart, classes}), or
 * undefined. `dgStart`: the λ where DG's push starts when the page picks it ("auto"); pushed
 * from the start of the path, a trained image model's low-q samples turn into speckle
 * (docs/findings.md). */
export function imageModelOf(model) {
  return Object.hasOwn(IMAGE_MODELS, model) ? IMAGE_MODELS[model] : undefined;
}

/** The λ where DG's push starts under dgStart "auto": the image model's, else null (the
 * whole path, the paper's form). */
export function autoDgStartOf(model) {
  return imageModelOf(model)?.dgStart ?? null;
}

/** A model's class names (none for the 2-D lab). */
export function classesOf(model) {
  return imageModelOf(model)?.classes ?? [];
}

/** The dimension of a model's samples. */
export function dimOf(model) {
  const image = imageModelOf(model);
  return image ? image.channels * image.side * image.side : 2;
}

/** The channels (1 grey, 3 RGB) and side of square images of `dim` values, or null: as
 * `dg::nets::image_shape`, unambiguous since 3·s² is never a square. */
export function imageShapeOf(dim) {
  for (const channels of [1, 3]) {
    const side = Math.round(Math.sqrt(dim / channels));
    if (side > 1 && channels * side * side === dim) {
      return { channels, side };
    }
  }
  return null;
}

/** The shipped weights the page loads: the image models' in half precision (`dg half`: half
 * the bytes, samples within one 8-bit level of the f32 file's). */
export function weightsFile(model) {
  const stem = imageModelOf(model) ? `${model}-f16` : model;
  return `models/${stem}.safetensors`;
}
