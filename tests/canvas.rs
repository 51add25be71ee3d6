//! Drawing straight from burn's buffers (src/canvas.rs) against a reference drawn from the
//! read-back values, as the page's canvas path draws them: on wgpu (lavapipe here).
// Native only: on wasm32 (`wasm-pack test` builds every test target) this file is empty.
#![cfg(not(target_arch = "wasm32"))]

use burn::backend::wgpu::wgpu;
use burn::tensor::{Device, Tensor, TensorData};
use dg::sampling::device::wgpu_with_setup;
use dg::web::canvas::{Painter, Picture, SPAN};

const FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// A `w`×`h` render target that can be copied out.
fn texture(device: &wgpu::Device, w: u32, h: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: None,
        size: wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: FORMAT,
        usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    })
}

/// Draws `states` in turn into one layer on a fresh `w`×`h` texture and reads the last frame's
/// pixels back, RGBA rows.
fn render(
    painter: &Painter,
    setup_device: &wgpu::Device,
    queue: &wgpu::Queue,
    states: &[Tensor<2>],
    picture: Picture,
    w: u32,
    h: u32,
) -> Vec<u8> {
    let texture = texture(setup_device, w, h);
    let view = texture.create_view(&Default::default());
    let mut layer = painter.layer(states[0].dims()[0]);
    for x in states {
        painter.draw(&mut layer, x, picture, &view, w, h).expect("draws");
    }
    let row = (w * 4).div_ceil(256) * 256;
    let out = setup_device.create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: (row * h) as u64,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut enc = setup_device.create_command_encoder(&Default::default());
    enc.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &out,
            layout: wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(row), rows_per_image: None },
        },
        wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
    );
    queue.submit([enc.finish()]);
    out.slice(..).map_async(wgpu::MapMode::Read, |r| r.expect("maps"));
    setup_device.poll(wgpu::PollType::wait_indefinitely()).expect("polls");
    let data = out.slice(..).get_mapped_range().expect("mapped");
    (0..h as usize).flat_map(|y| data[y * row as usize..y * row as usize + 4 * w as usize].to_vec()).collect()
}

/// The page's image grid (www/draw.js): `n` images of `channels`·`side`² values (one channel
/// grey, three RGB, channel-major), `ceil(√n)` columns, scaled by the largest whole number
/// that fits, centred, each image pixel a square of canvas pixels; white around; a channel's
/// level = 8-bit (x + 1)·127.5.
fn reference_grid(x: &[f32], n: usize, channels: usize, side: usize, w: usize, h: usize) -> Vec<u8> {
    let cols = (n as f64).sqrt().ceil() as usize;
    let rows = n.div_ceil(cols);
    let scale = (w / (cols * side)).min(h / (rows * side));
    assert!(scale >= 1, "the reference draws grids that fit at least once");
    let (left, top) = ((w - cols * side * scale) / 2, (h - rows * side * scale) / 2);
    let plane = side * side;
    let mut out = vec![255u8; w * h * 4];
    for py in top..top + rows * side * scale {
        for px in left..left + cols * side * scale {
            let (c, r) = ((px - left) / scale, (py - top) / scale);
            let k = (r / side) * cols + c / side;
            if k >= n {
                continue;
            }
            let p = (r % side) * side + c % side;
            let level =
                |ch: usize| ((x[k * channels * plane + ch * plane + p] + 1.0) * 127.5).clamp(0.0, 255.0).round() as u8;
            let rgb = if channels == 3 { [level(0), level(1), level(2)] } else { [level(0); 3] };
            out[(py * w + px) * 4..][..3].copy_from_slice(&rgb);
        }
    }
    out
}

fn max_diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    let d: Vec<u8> = a.iter().zip(b).map(|(p, q)| p.abs_diff(*q)).collect();
    (*d.iter().max().unwrap(), d.iter().filter(|&&v| v > 1).count())
}

fn setup() -> (Device, Painter, wgpu::Device, wgpu::Queue) {
    let (device, setup) = wgpu_with_setup().expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    let painter = Painter::new(&setup, FORMAT);
    (device, painter, setup.device.clone(), setup.queue.clone())
}

/// Six 28×28 images, drawn contiguous, transposed (strided), as a slice at an unaligned offset
/// and as the result of queued kernels: every pixel within one 8-bit level of the reference.
#[test]
fn image_grid_matches_the_reference_for_any_layout() {
    let (device, painter, gd, queue) = setup();
    let (n, side, (w, h)) = (6usize, 28usize, (200u32, 150u32));
    let values: Vec<f32> = (0..n * side * side).map(|i| ((i as f32 * 0.37).sin() * 1.3).clamp(-1.4, 1.4)).collect();
    let full = Tensor::<2>::from_data(TensorData::new(values.clone(), [n, side * side]), &device);
    let transposed = Tensor::<2>::from_data(
        TensorData::new(
            (0..side * side)
                .flat_map(|p| (0..n).map(move |k| (k, p)))
                .map(|(k, p)| values[k * side * side + p])
                .collect::<Vec<_>>(),
            [side * side, n],
        ),
        &device,
    )
    .transpose();
    let sliced = full.clone().narrow(0, 1, n - 1);
    // Still queued when drawn: the draw must see the kernels' result.
    let computed = full.clone().mul_scalar(3.0) - full.clone().mul_scalar(2.0);
    let cases =
        [("contiguous", full, 0), ("transposed", transposed, 0), ("sliced", sliced, 1), ("computed", computed, 0)];
    for (name, x, from) in cases {
        let k = n - from;
        let got = render(&painter, &gd, &queue, &[x], Picture::Images, w, h);
        let want = reference_grid(&values[from * side * side..], k, 1, side, w as usize, h as usize);
        let (max, over) = max_diff(&got, &want);
        eprintln!("{name}: {k} images on {w}x{h}: max |Δ| = {max} levels, {over} channels off by more than 1");
        assert!(max <= 1, "{name}: a pixel differs by {max} levels");
    }
}

/// Five 32×32 RGB images (channel-major rows, as the emoji model's), contiguous and as a slice
/// from the second row, on a target whose grid leaves a margin on both axes: every channel
/// within one 8-bit level of the reference, and the colours really differ per channel.
#[test]
fn rgb_image_grid_matches_the_reference() {
    let (device, painter, gd, queue) = setup();
    let (n, side, (w, h)) = (5usize, 32usize, (230u32, 170u32));
    let dim = 3 * side * side;
    // each channel its own pattern, so a channel drawn from the wrong plane shows
    let values: Vec<f32> = (0..n * dim)
        .map(|i| {
            let (ch, p) = ((i % dim) / (side * side), (i % dim) % (side * side));
            let phase = [0.11f32, 0.29, 0.53][ch] * (p + 7 * (i / dim)) as f32;
            (phase.sin() * 1.2 + [0.3, -0.2, 0.0][ch]).clamp(-1.3, 1.3)
        })
        .collect();
    let full = Tensor::<2>::from_data(TensorData::new(values.clone(), [n, dim]), &device);
    let sliced = full.clone().narrow(0, 1, n - 1);
    for (name, x, from) in [("contiguous", full, 0), ("sliced", sliced, 1)] {
        let k = n - from;
        let got = render(&painter, &gd, &queue, &[x], Picture::Images, w, h);
        let want = reference_grid(&values[from * dim..], k, 3, side, w as usize, h as usize);
        let (max, over) = max_diff(&got, &want);
        let coloured = got.chunks(4).filter(|p| p[0] != p[1] || p[1] != p[2]).count();
        eprintln!(
            "rgb {name}: {k} images on {w}x{h}: max |Δ| = {max} levels, {over} channels off by more than 1; \
             {coloured} pixels with R, G, B not all equal"
        );
        assert!(max <= 1, "rgb {name}: a pixel differs by {max} levels");
        // scale 2 (64 px images in a 2x3 or 2x2 grid): most drawn pixels are coloured
        assert!(coloured > (k * side * side * 4) / 2, "rgb {name}: only {coloured} coloured pixels");
    }
}

/// Particles: opaque where they are, their trail (alpha 0.18) between the last positions, the
/// histogram under them (alpha 0.55 in the fullest cell), transparent elsewhere.
#[test]
fn particles_trails_and_histogram_land_where_the_positions_say() {
    let (device, painter, gd, queue) = setup();
    let (w, h) = (448u32, 448u32);
    let px = |v: f32| (w as f32 / 2.0 + v * w as f32 / (2.0 * SPAN)) as usize;
    let py = |v: f32| (h as f32 / 2.0 - v * w as f32 / (2.0 * SPAN)) as usize;
    // Three particles, two of them in one histogram cell, moved right by 1.75 between draws.
    let before = [-1.75f32, 1.1, -1.75, 1.11, 1.0, -2.0];
    let after: Vec<f32> = before.iter().enumerate().map(|(i, v)| if i % 2 == 0 { v + 1.75 } else { *v }).collect();
    let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [3, 2]), &device);
    let got = render(&painter, &gd, &queue, &[t(&before), t(&after)], Picture::Particles { heat: true }, w, h);
    let at = |x: usize, y: usize| &got[(y * w as usize + x) * 4..][..4];
    for i in 0..3 {
        assert_eq!(at(px(after[2 * i]), py(after[2 * i + 1])), [192, 57, 43, 255], "particle {i} is drawn where it is");
    }
    // Halfway along the first particle's trail: trail over heat-free background.
    let mid = at(px(-0.875), py(1.1));
    eprintln!("trail midpoint RGBA {mid:?}, empty corner RGBA {:?}", at(2, 2));
    assert!((40..=52).contains(&mid[3]), "trail alpha 0.18 (46/255), got {mid:?}");
    assert_eq!(at(2, 2), [0, 0, 0, 0], "nothing drawn far from the particles");
    // The cell of the two close particles holds the most: 0.55 alpha of blue, away from the dot.
    let (cx, cy) = (px(0.0) + 5, py(1.1) + 3);
    let heat = at(cx, cy);
    eprintln!("fullest histogram cell RGBA {heat:?}");
    assert!((136..=144).contains(&heat[3]) && heat[2] > heat[0], "0.55 alpha (140/255) of blue, got {heat:?}");
}

/// A state on the CPU backend, or one with no picture, is an error naming why, not a panic.
#[test]
fn states_it_cannot_draw_are_errors() {
    let (_, painter, gd, _) = setup();
    let texture = texture(&gd, 8, 8);
    let cpu = Tensor::<2>::zeros([4, 2], &dg::sampling::device::cpu_f64());
    let err = painter.draw(
        &mut painter.layer(4),
        &cpu,
        Picture::Particles { heat: false },
        &texture.create_view(&Default::default()),
        8,
        8,
    );
    assert!(err.unwrap_err().to_string().contains("wgpu device"));
    assert!(Picture::for_dim(5, false).is_err() && matches!(Picture::for_dim(784, false), Ok(Picture::Images)));
    assert!(
        matches!(Picture::for_dim(3 * 32 * 32, false), Ok(Picture::Images))
            && Picture::for_dim(2 * 32 * 32, false).is_err()
    );
}
