// A sample as an 8-bit PNG, to measure its detail as the paper does: the bits per pixel of
// the file (docs/eval: `png_bits_per_pixel`, 8 × bytes / pixels). Grey or RGB, 8 bits per
// channel, each row filtered with the filter of least absolute sum (libpng's heuristic), the
// rows deflated by the browser's own zlib (CompressionStream "deflate"). No DOM.

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** CRC-32 of PNG chunks, one table entry per byte value. */
const CRC_TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) {
    crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  return crc >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** One chunk: length, type, data, CRC over type and data. */
function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) {
    out[4 + i] = type.charCodeAt(i);
  }
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** The 8-bit level of a value in [-1, 1], rounded, as `to_u8` in src/training/eval.rs. */
export function levelOf(value) {
  return Math.max(0, Math.min(255, Math.round((value + 1) * 127.5)));
}

/** One sample's values (channel-major, C×H×W) as interleaved 8-bit pixels (grey, or RGB). */
export function pixelsOfSample(values, channels) {
  const plane = values.length / channels;
  const pixels = new Uint8Array(values.length);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) {
      pixels[p * channels + c] = levelOf(values[c * plane + p]);
    }
  }
  return pixels;
}

function paeth(left, up, upLeft) {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) {
    return left;
  }
  return toUp <= toUpLeft ? up : upLeft;
}

/** Row `row` filtered with PNG filter `type` (0 none, 1 sub, 2 up, 3 average, 4 Paeth). */
function filtered(pixels, row, stride, bytesPerPixel, type) {
  const out = new Uint8Array(stride);
  const start = row * stride;
  for (let i = 0; i < stride; i++) {
    const value = pixels[start + i];
    const left = i >= bytesPerPixel ? pixels[start + i - bytesPerPixel] : 0;
    const up = row > 0 ? pixels[start + i - stride] : 0;
    const upLeft = row > 0 && i >= bytesPerPixel ? pixels[start + i - stride - bytesPerPixel] : 0;
    const predictions = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)];
    out[i] = (value - predictions[type]) & 0xff;
  }
  return out;
}

/** The sum of a filtered row's bytes read as signed: smaller usually deflates smaller. */
function cost(row) {
  let sum = 0;
  for (const byte of row) {
    sum += byte < 128 ? byte : 256 - byte;
  }
  return sum;
}

/** Every row behind its filter byte, each with the filter of least cost. */
function filteredRows(pixels, width, height, channels) {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  for (let row = 0; row < height; row++) {
    let best = null;
    let bestType = 0;
    for (let type = 0; type < 5; type++) {
      const candidate = filtered(pixels, row, stride, channels, type);
      if (best === null || cost(candidate) < cost(best)) {
        best = candidate;
        bestType = type;
      }
    }
    out[row * (stride + 1)] = bestType;
    out.set(best, row * (stride + 1) + 1);
  }
  return out;
}

/** zlib-wrapped deflate of `bytes` (what a PNG's IDAT holds). */
async function deflated(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `pixels` (interleaved, `channels` 1 or 3) of a `width` × `height` image as PNG bytes. */
export async function encodePng(pixels, width, height, channels) {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8;
  header[9] = channels === 3 ? 2 : 0;
  const data = await deflated(filteredRows(pixels, width, height, channels));
  const parts = [
    Uint8Array.from(SIGNATURE),
    chunk("IHDR", header),
    chunk("IDAT", data),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
