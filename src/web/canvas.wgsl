// Drawing the sampler's state straight from burn's buffer: a grid of images, or 2-D particles
// with their trails over a histogram of where they are. Colours are premultiplied; the page's
// 2-D canvas path (www/dg.js `draw`) is the reference these match.

struct View {
    n: u32,        // images or particles
    s0: u32,       // element strides of x: sample, coordinate
    s1: u32,
    cols: u32,     // image grid: columns and the side of one image
    side: u32,
    ring: u32,     // trail ring: slots, newest slot, slots filled
    head: u32,
    filled: u32,
    grid: u32,     // histogram cells per side
    width: f32,    // target size in pixels
    height: f32,
    span: f32,     // the 2-D view spans [-span, span]²
    scale: f32,    // image grid: target pixels per image pixel
    base: u32,     // where x starts in the bound buffer, in elements
    channels: u32, // image grid: 1 (grey) or 3 (RGB, channel-major rows)
    left: f32,     // image grid: where it starts on the target, in pixels
    top: f32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> trail_rw: array<f32>;
@group(0) @binding(3) var<storage, read> trail: array<f32>;
@group(0) @binding(4) var<storage, read_write> counts_rw: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> counts: array<u32>;

fn value(i: u32, j: u32) -> f32 {
    return x[view.base + i * view.s0 + j * view.s1];
}

// One triangle that covers the target.
@vertex
fn fullscreen(@builtin(vertex_index) v: u32) -> @builtin(position) vec4<f32> {
    let p = vec2<f32>(f32((v << 1u) & 2u), f32(v & 2u));
    return vec4<f32>(p * 2.0 - 1.0, 0.0, 1.0);
}

fn level(v: f32) -> f32 {
    return clamp((v + 1.0) * 127.5, 0.0, 255.0) / 255.0;
}

// The batch as a grid of images, grey or RGB (a row holds its channels one after another),
// placed at (left, top) and scaled by nearest neighbour; white around it. A channel's level
// = (x + 1) / 2, clamped, as the 2-D path's 8-bit ImageData.
@fragment
fn images(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let rows = (view.n + view.cols - 1u) / view.cols;
    let fc = floor((pos.x - view.left) / view.scale);
    let fr = floor((pos.y - view.top) / view.scale);
    if (fc < 0.0 || fr < 0.0) {
        return vec4<f32>(1.0);
    }
    let c = u32(fc);
    let r = u32(fr);
    let col = c / view.side;
    let row = r / view.side;
    let k = row * view.cols + col;
    if (col >= view.cols || row >= rows || k >= view.n) {
        return vec4<f32>(1.0);
    }
    let plane = view.side * view.side;
    let p = (r % view.side) * view.side + (c % view.side);
    if (view.channels == 3u) {
        return vec4<f32>(level(value(k, p)), level(value(k, plane + p)), level(value(k, 2u * plane + p)), 1.0);
    }
    let g = level(value(k, p));
    return vec4<f32>(g, g, g, 1.0);
}

// Appends the current positions to the trail ring (as contiguous pairs).
@compute @workgroup_size(64)
fn push(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.x;
    if (i >= view.n) {
        return;
    }
    let o = (view.head * view.n + i) * 2u;
    trail_rw[o] = value(i, 0u);
    trail_rw[o + 1u] = value(i, 1u);
}

fn cell_of(p: vec2<f32>) -> i32 {
    let g = i32(view.grid);
    let c = i32(floor((p.x / view.span + 1.0) * 0.5 * f32(view.grid)));
    let r = i32(floor((1.0 - p.y / view.span) * 0.5 * f32(view.grid)));
    if (c < 0 || c >= g || r < 0 || r >= g) {
        return -1;
    }
    return r * g + c;
}

// Histogram of the particles; the slot after the cells then gets the largest count.
@compute @workgroup_size(64)
fn count(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= view.n) {
        return;
    }
    let cell = cell_of(vec2<f32>(value(id.x, 0u), value(id.x, 1u)));
    if (cell >= 0) {
        atomicAdd(&counts_rw[cell], 1u);
    }
}

@compute @workgroup_size(64)
fn most(@builtin(global_invocation_id) id: vec3<u32>) {
    let cells = view.grid * view.grid;
    if (id.x >= cells) {
        return;
    }
    atomicMax(&counts_rw[cells], atomicLoad(&counts_rw[id.x]));
}

// The histogram as a blue wash, alpha 0.55 at the fullest cell.
@fragment
fn heat(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = min(u32(pos.x / view.width * f32(view.grid)), view.grid - 1u);
    let r = min(u32(pos.y / view.height * f32(view.grid)), view.grid - 1u);
    let most = max(counts[view.grid * view.grid], 1u);
    let a = 0.55 * f32(counts[r * view.grid + c]) / f32(most);
    return vec4<f32>(vec3<f32>(41.0, 128.0, 185.0) / 255.0 * a, a);
}

fn clip(p: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(p.x, p.y) / view.span * vec2<f32>(1.0, view.width / view.height);
}

struct Coloured {
    @builtin(position) pos: vec4<f32>,
    @location(0) colour: vec4<f32>,
}

// Trails: for particle `i`, line segments through its last `filled` positions, oldest first.
@vertex
fn trails(@builtin(vertex_index) v: u32, @builtin(instance_index) i: u32) -> Coloured {
    let k = v / 2u + v % 2u;                                   // position along the trail
    let slot = (view.head + view.ring + 1u - view.filled + k) % view.ring;
    let o = (slot * view.n + i) * 2u;
    let a = 0.18;
    return Coloured(vec4<f32>(clip(vec2<f32>(trail[o], trail[o + 1u])), 0.0, 1.0),
                    vec4<f32>(vec3<f32>(192.0, 57.0, 43.0) / 255.0 * a, a));
}

// Particles: a 2×2-pixel square each.
@vertex
fn points(@builtin(vertex_index) v: u32, @builtin(instance_index) i: u32) -> Coloured {
    let corner = array<vec2<f32>, 6>(vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(-1.0, 1.0),
                                     vec2(-1.0, 1.0), vec2(1.0, -1.0), vec2(1.0, 1.0));
    let p = clip(vec2<f32>(value(i, 0u), value(i, 1u)))
        + corner[v] * vec2<f32>(2.0 / view.width, 2.0 / view.height);
    return Coloured(vec4<f32>(p, 0.0, 1.0), vec4<f32>(vec3<f32>(192.0, 57.0, 43.0) / 255.0, 1.0));
}

@fragment
fn colour(c: Coloured) -> @location(0) vec4<f32> {
    return c.colour;
}
