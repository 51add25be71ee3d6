//! Drawing a run's state with wgpu on burn's own device, straight from the tensor's buffer:
//! a step reaches the screen without a readback. The page's canvas path (`www/draw.js`) is the
//! reference; `tests/canvas.rs` holds the two to one 8-bit level, grey and RGB.
//!
//! burn hands out the device and queue it runs on (`Device::wgpu_options().init_with_setup*`);
//! the buffer behind a tensor comes from its cubecl primitive. Asking cubecl for it flushes the
//! pending kernels onto that queue, so draws submitted after it see the step's result.

use crate::error::{Error, Result};
use crate::nets::image_shape;
use burn::backend::wgpu::{AutoCompiler, WgpuResource, WgpuSetup, wgpu};
use burn::tensor::{DType, Tensor};
use wgpu::util::DeviceExt;

/// The 2-D view spans `[-SPAN, SPAN]²`, as the page's.
pub const SPAN: f32 = 3.5;
/// Positions kept per particle for its trail, the newest included.
pub const TRAIL: u32 = 8;
/// Histogram cells per side.
pub const GRID: u32 = 56;

/// What a state is drawn as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Picture {
    /// A grid of square images, grey (`side`² values) or RGB (3·`side`², channel-major), each
    /// value in [-1, 1].
    Images,
    /// 2-D particles and their trails; `heat` adds the particles' histogram under them.
    Particles { heat: bool },
}

impl Picture {
    /// Images for anything of `s²` (grey) or `3·s²` (RGB) dimensions above 2.
    pub fn for_dim(dim: usize, heat: bool) -> Result<Self> {
        match dim {
            2 => Ok(Picture::Particles { heat }),
            _ if dim > 2 && image_shape(dim).is_some() => Ok(Picture::Images),
            _ => Err(Error::invalid("model", format!("a state of {dim} dimensions has no picture"))),
        }
    }
}

/// Where a grid of `cols` × `rows` images of `side` pixels sits on a `width` × `height` target
/// (`www/draw.js` places it so): scaled by a whole number where it fits at least once, else
/// shrunk to fit; centred. Returns (scale, left, top).
pub fn grid_placement(cols: u32, rows: u32, side: u32, width: u32, height: u32) -> (f32, f32, f32) {
    let (gw, gh) = ((cols * side) as f32, (rows * side) as f32);
    let fit = (width as f32 / gw).min(height as f32 / gh);
    let scale = if fit >= 1.0 { fit.floor() } else { fit };
    (scale, ((width as f32 - gw * scale) / 2.0).floor(), ((height as f32 - gh * scale) / 2.0).floor())
}

/// The `View` uniform of `canvas.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct View {
    n: u32,
    s0: u32,
    s1: u32,
    cols: u32,
    side: u32,
    ring: u32,
    head: u32,
    filled: u32,
    grid: u32,
    width: f32,
    height: f32,
    span: f32,
    scale: f32,
    base: u32,
    channels: u32,
    left: f32,
    top: f32,
}

impl View {
    fn bytes(&self) -> Vec<u8> {
        let u = [self.n, self.s0, self.s1, self.cols, self.side, self.ring, self.head, self.filled, self.grid];
        let f = [self.width, self.height, self.span, self.scale];
        let at = [self.base, self.channels];
        let place = [self.left, self.top];
        let bytes = |v: &[u32]| v.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>();
        let floats = |v: &[f32]| v.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>();
        [bytes(&u), floats(&f), bytes(&at), floats(&place), bytes(&[0, 0, 0])].concat()
    }
}

/// The pipelines for one target format; built once per device.
pub struct Painter {
    device: wgpu::Device,
    queue: wgpu::Queue,
    format: wgpu::TextureFormat,
    /// The device's storage-buffer offset alignment, in bytes.
    align: u64,
    images: wgpu::RenderPipeline,
    heat: wgpu::RenderPipeline,
    trails: wgpu::RenderPipeline,
    points: wgpu::RenderPipeline,
    push: wgpu::ComputePipeline,
    count: wgpu::ComputePipeline,
    most: wgpu::ComputePipeline,
}

/// One canvas's state between draws: the trail ring and the histogram, sized for its batch.
pub struct Layer {
    view: wgpu::Buffer,
    trail: wgpu::Buffer,
    counts: wgpu::Buffer,
    n: usize,
    /// Particle frames drawn so far; the newest is in ring slot `(drawn - 1) % TRAIL`.
    drawn: u32,
}

/// Freed now, not when JS collects the handles: browsers' WebGPU frees a buffer on `destroy`.
impl Drop for Layer {
    fn drop(&mut self) {
        for b in [&self.view, &self.trail, &self.counts] {
            b.destroy();
        }
    }
}

/// The buffer behind a float tensor on burn's wgpu device, with its element strides.
struct Bound {
    resource: WgpuResource,
    n: u32,
    dim: u32,
    strides: [u32; 2],
    // Holds the allocation in place until the draw is submitted.
    _keep: Box<dyn std::any::Any>,
}

fn bound(x: &Tensor<2>) -> Result<Bound> {
    let gpu = || Error::Backend("drawing on the GPU needs a state on the wgpu device".into());
    let t = x.clone().try_into_primitive::<burn::backend::Wgpu>().map_err(|_| gpu())?;
    if t.dtype != DType::F32 {
        return Err(Error::Backend(format!("drawing on the GPU needs f32 values, not {:?}", t.dtype)));
    }
    let (shape, strides) = (t.meta.shape(), t.meta.strides());
    let managed = t
        .client
        .get_resource::<cubecl_wgpu::WgpuServer<AutoCompiler>>(t.handle.clone())
        .map_err(|e| Error::Backend(format!("the state's GPU buffer is not reachable: {e:?}")))?;
    let resource = managed.resource().clone();
    Ok(Bound {
        resource,
        n: shape[0] as u32,
        dim: shape[1] as u32,
        strides: [strides[0] as u32, strides[1] as u32],
        _keep: Box::new((managed, t)),
    })
}

impl Painter {
    /// Builds the pipelines for targets of `format` on burn's device and queue.
    pub fn new(setup: &WgpuSetup, format: wgpu::TextureFormat) -> Self {
        let device = setup.device.clone();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("dg canvas"),
            source: wgpu::ShaderSource::Wgsl(include_str!("canvas.wgsl").into()),
        });
        let blend = Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING);
        let render = |vs: &str, fs: &str, topology| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(fs),
                layout: None,
                vertex: wgpu::VertexState {
                    module: &module,
                    entry_point: Some(vs),
                    compilation_options: Default::default(),
                    buffers: &[],
                },
                fragment: Some(wgpu::FragmentState {
                    module: &module,
                    entry_point: Some(fs),
                    compilation_options: Default::default(),
                    targets: &[Some(wgpu::ColorTargetState { format, blend, write_mask: wgpu::ColorWrites::ALL })],
                }),
                primitive: wgpu::PrimitiveState { topology, ..Default::default() },
                depth_stencil: None,
                multisample: Default::default(),
                multiview_mask: None,
                cache: None,
            })
        };
        let compute = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let tri = wgpu::PrimitiveTopology::TriangleList;
        Painter {
            images: render("fullscreen", "images", tri),
            heat: render("fullscreen", "heat", tri),
            trails: render("trails", "colour", wgpu::PrimitiveTopology::LineList),
            points: render("points", "colour", tri),
            push: compute("push"),
            count: compute("count"),
            most: compute("most"),
            queue: setup.queue.clone(),
            format,
            align: device.limits().min_storage_buffer_offset_alignment as u64,
            device,
        }
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.format
    }

    /// A fresh layer (no trail yet) for batches of `n`.
    pub fn layer(&self, n: usize) -> Layer {
        let storage = |label, size: u64| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(4),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        Layer {
            view: self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("dg view"),
                contents: &View::default().bytes(),
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            }),
            trail: storage("dg trail", (TRAIL as usize * n * 2 * 4) as u64),
            counts: storage("dg counts", ((GRID * GRID + 1) * 4) as u64),
            n,
            drawn: 0,
        }
    }

    fn bind(&self, pipeline: &wgpu::BindGroupLayout, entries: &[(u32, wgpu::BindingResource)]) -> wgpu::BindGroup {
        let entries: Vec<_> =
            entries.iter().map(|(b, r)| wgpu::BindGroupEntry { binding: *b, resource: r.clone() }).collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: pipeline, entries: &entries })
    }

    /// Draws `x` (`[n, dim]` on burn's wgpu device) into `target` (`width`×`height`, this
    /// painter's format) and submits; clears to transparent first.
    pub fn draw(
        &self,
        layer: &mut Layer,
        x: &Tensor<2>,
        picture: Picture,
        target: &wgpu::TextureView,
        width: u32,
        height: u32,
    ) -> Result<()> {
        let b = bound(x)?;
        if b.n as usize != layer.n {
            return Err(Error::Backend(format!("this layer was made for {} samples, not {}", layer.n, b.n)));
        }
        let cols = (b.n as f64).sqrt().ceil() as u32;
        let rows = b.n.div_ceil(cols);
        let ((channels, side), (scale, left, top)) = match picture {
            Picture::Images => {
                let (c, s) = image_shape(b.dim as usize).ok_or_else(|| {
                    Error::invalid("model", format!("a state of {} dimensions is not a grid of images", b.dim))
                })?;
                ((c as u32, s as u32), grid_placement(cols, rows, s as u32, width, height))
            }
            Picture::Particles { .. } => ((1, 1), (1.0, 0.0, 0.0)),
        };
        if matches!(picture, Picture::Particles { .. }) {
            layer.drawn += 1;
        }
        let filled = layer.drawn.min(TRAIL);
        let (w, h) = (width as f32, height as f32);
        let align = self.align;
        let view = View {
            n: b.n,
            s0: b.strides[0],
            s1: b.strides[1],
            cols,
            side,
            ring: TRAIL,
            head: layer.drawn.saturating_sub(1) % TRAIL,
            filled,
            grid: GRID,
            width: w,
            height: h,
            span: SPAN,
            scale,
            base: (b.resource.offset % align) as u32 / 4,
            channels,
            left,
            top,
        };
        self.queue.write_buffer(&layer.view, 0, &view.bytes());
        let r = &b.resource;
        // Bound from the aligned offset below the tensor's; `base` skips the rest.
        let x_res = wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &r.buffer,
            offset: r.offset - r.offset % align,
            size: wgpu::BufferSize::new(r.size + r.offset % align),
        });
        let view_res = layer.view.as_entire_binding();
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dg draw") });
        if let Picture::Particles { heat } = picture {
            let groups = b.n.div_ceil(64);
            let run = |p: &wgpu::ComputePipeline,
                       entries: &[(u32, wgpu::BindingResource)],
                       n: u32,
                       enc: &mut wgpu::CommandEncoder| {
                let g = self.bind(&p.get_bind_group_layout(0), entries);
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(p);
                pass.set_bind_group(0, &g, &[]);
                pass.dispatch_workgroups(n, 1, 1);
            };
            run(
                &self.push,
                &[(0, view_res.clone()), (1, x_res.clone()), (2, layer.trail.as_entire_binding())],
                groups,
                &mut enc,
            );
            if heat {
                enc.clear_buffer(&layer.counts, 0, None);
                let counts = [(0, view_res.clone()), (1, x_res.clone()), (4, layer.counts.as_entire_binding())];
                run(&self.count, &counts, groups, &mut enc);
                run(
                    &self.most,
                    &[(0, view_res.clone()), (4, layer.counts.as_entire_binding())],
                    (GRID * GRID).div_ceil(64),
                    &mut enc,
                );
            }
        }
        {
            let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("dg draw"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: target,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::TRANSPARENT),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            let mut draw =
                |p: &wgpu::RenderPipeline, entries: &[(u32, wgpu::BindingResource)], vertices: u32, instances: u32| {
                    let g = self.bind(&p.get_bind_group_layout(0), entries);
                    pass.set_pipeline(p);
                    pass.set_bind_group(0, &g, &[]);
                    pass.draw(0..vertices, 0..instances);
                };
            match picture {
                Picture::Images => draw(&self.images, &[(0, view_res.clone()), (1, x_res.clone())], 3, 1),
                Picture::Particles { heat } => {
                    if heat {
                        draw(&self.heat, &[(0, view_res.clone()), (5, layer.counts.as_entire_binding())], 3, 1);
                    }
                    if filled > 1 {
                        let trail = [(0, view_res.clone()), (3, layer.trail.as_entire_binding())];
                        draw(&self.trails, &trail, 2 * (filled - 1), b.n);
                    }
                    draw(&self.points, &[(0, view_res.clone()), (1, x_res.clone())], 6, b.n);
                }
            }
        }
        self.queue.submit([enc.finish()]);
        drop(b);
        Ok(())
    }
}
