//! The browser API (wasm32 only): a thin wasm-bindgen layer over [`Sampler`]. Every error is
//! a JS `Error` with the library's one-line message; readback is async only.

use crate::nets::{Conditioning, Net, from_net, from_weights};
use crate::sampling::alignment::run_alignment;
use crate::sampling::device::{Precision, cpu};
use crate::sampling::gmm::{Gmm, MixtureSpec};
use crate::sampling::sampler::{Sampler, Settings};
use crate::sampling::schedule::Path;
use crate::sampling::score::ScoreModel;
use crate::web::canvas::{Layer, Painter, Picture};
use burn::backend::wgpu::{WgpuSetup, wgpu};
use burn::tensor::{Device, Tensor};
use js_sys::{Float32Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

unsafe extern "C" {
    /// The static constructors (cubecl's and `inventory`'s registrations), synthesised by
    /// wasm-ld. A module that never calls it gets it called at the top of every export
    /// (`*.command_export`): every JS value crossing the boundary then re-ran them, about a
    /// millisecond each, which was most of a CPU step's readback (issue 19).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once per instance: from `start`, and from [`device`] for
/// wasm-bindgen-test, which does not call `start`.
fn constructors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the constructors only register statics, and `Once` runs them once.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

#[wasm_bindgen(start)]
fn start() {
    constructors();
    console_error_panic_hook::set_once();
}

/// burn's WebGPU device, the wgpu handles it runs on, and the painter built on them.
#[derive(Clone)]
struct WebGpu {
    device: Device,
    setup: WgpuSetup,
    painter: Option<Rc<Painter>>,
}

thread_local! {
    /// burn's WebGPU runtime can be initialised once per page.
    static WEBGPU: RefCell<Option<WebGpu>> = const { RefCell::new(None) };
}

fn webgpu() -> Option<WebGpu> {
    WEBGPU.with(|w| w.borrow().clone())
}

/// Hands the WebGPU pool's free pages back, so that repeated runs do not hold on to GPU memory.
fn release_webgpu_pages() {
    WEBGPU.with(|w| w.borrow().as_ref().map(|g| g.device.memory_cleanup()));
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The device for `"webgpu"` or `"cpu"`. The page probes `navigator.gpu` first: burn panics
/// where no adapter exists.
async fn device(backend: &str) -> Result<Device, JsError> {
    constructors();
    match backend {
        "cpu" => cpu(Precision::F32).map_err(js_err),
        "webgpu" => {
            if let Some(g) = webgpu() {
                return Ok(g.device);
            }
            let (device, setup) = Device::wgpu_options()
                .init_with_setup_async()
                .await
                .map_err(|e| JsError::new(&format!("backend: WebGPU: {e}")))?;
            WEBGPU.with(|w| *w.borrow_mut() = Some(WebGpu { device: device.clone(), setup, painter: None }));
            Ok(device)
        }
        other => Err(JsError::new(&format!("invalid backend: '{other}' is not webgpu or cpu"))),
    }
}

/// A model description from JS: `{gmm: {weights, means, stds}}` or `{class, cfg}` with
/// weights bytes.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ModelOptions {
    gmm: Option<MixtureSpec>,
    class: Option<usize>,
    cfg: Option<f64>,
}

/// The score model, the checked settings and the device a request names: `model` as in
/// `ModelOptions`, `weights` a `.safetensors` file's bytes for networks.
async fn open(
    model: JsValue,
    weights: Option<Uint8Array>,
    settings: JsValue,
    backend: &str,
) -> Result<(Rc<dyn ScoreModel>, Settings, Device), JsError> {
    let opts: ModelOptions =
        serde_wasm_bindgen::from_value(model).map_err(|e| JsError::new(&format!("invalid model: {e}")))?;
    let settings: Settings =
        serde_wasm_bindgen::from_value(settings).map_err(|e| JsError::new(&format!("invalid settings: {e}")))?;
    settings.validate().map_err(js_err)?;
    let device = device(backend).await?;
    let model: Rc<dyn ScoreModel> = match (opts.gmm, weights) {
        (Some(spec), _) => Rc::new(Gmm::new(spec, Path::Linear, &device).map_err(js_err)?),
        (None, Some(bytes)) => {
            let cond = Conditioning {
                classes: opts.class.into_iter().collect(),
                first: settings.first,
                cfg: opts.cfg.unwrap_or(1.0),
            };
            network(bytes.to_vec(), &cond, &device, backend)?
        }
        (None, None) => return Err(JsError::new("invalid model: give a mixture or a weights file")),
    };
    Ok((model, settings, device))
}

thread_local! {
    /// The last network read on the CPU backend and the weights bytes it came from: a run of
    /// the same weights (each move of q) then skips reading them again, most of a run's fixed
    /// cost (issue 19). One network per worker; WebGPU runs read theirs anew, so that a run's
    /// GPU memory goes with it.
    static LAST_NET: RefCell<Option<(Vec<u8>, Net)>> = const { RefCell::new(None) };
}

/// The network in `bytes` with the conditioning `cond`: on the CPU backend the last one read
/// when the bytes are the same, else read now.
fn network(bytes: Vec<u8>, cond: &Conditioning, device: &Device, backend: &str) -> Result<Rc<dyn ScoreModel>, JsError> {
    if backend != "cpu" {
        return from_weights(bytes, "weights", cond, device).map_err(js_err);
    }
    let kept = LAST_NET.with(|last| match last.borrow().as_ref() {
        Some((read, net)) if *read == bytes => Some(net.clone()),
        _ => None,
    });
    let net = match kept {
        Some(net) => net,
        None => {
            let net = Net::from_bytes(bytes.clone(), "weights", device).map_err(js_err)?;
            LAST_NET.with(|last| *last.borrow_mut() = Some((bytes, net.clone())));
            net
        }
    };
    from_net(net, cond, device).map_err(js_err)
}

/// A canvas a run draws on with wgpu: its surface, the painter's layer for it, its size.
struct Screen {
    canvas: JsValue,
    surface: wgpu::Surface<'static>,
    painter: Rc<Painter>,
    layer: Layer,
    size: (u32, u32),
}

/// One sampling run, stepped from JS.
#[wasm_bindgen]
pub struct Run {
    sampler: Option<Sampler>,
    dim: usize,
    backend: String,
    screen: Option<Screen>,
}

#[wasm_bindgen]
impl Run {
    /// `model`: see `ModelOptions`; `weights`: a `.safetensors` file's bytes for networks;
    /// `settings`: the sampler settings (`method`, `solver`, `steps`, ...); `backend`:
    /// `"webgpu"` or `"cpu"`.
    pub async fn create(
        model: JsValue,
        weights: Option<Uint8Array>,
        settings: JsValue,
        backend: String,
    ) -> Result<Run, JsError> {
        let (model, settings, device) = open(model, weights, settings, &backend).await?;
        let dim = model.dim();
        let sampler = Sampler::new(model, settings, &device).map_err(js_err)?;
        Ok(Run { sampler: Some(sampler), dim, backend, screen: None })
    }

    fn live(&self) -> Result<&Sampler, JsError> {
        self.sampler.as_ref().ok_or_else(|| JsError::new("this run was disposed"))
    }

    /// Queues one step on the device; false once the run is over. Nothing is read back.
    pub fn step(&mut self) -> Result<bool, JsError> {
        match self.sampler.as_mut() {
            Some(s) => Ok(s.step()),
            None => Err(JsError::new("this run was disposed")),
        }
    }

    /// Reads the current state back: `{lambda, steps_done, done, dim, x, logp, guard_steps, nfe}`
    /// with `x` a row-major Float32Array and `logp` one number per sample. `with_x: false`
    /// leaves `x` out (null), for runs that [`Run::draw`] on the GPU.
    pub async fn read(&self, with_x: Option<bool>) -> Result<JsValue, JsError> {
        let s = self.live()?;
        let x = match with_x.unwrap_or(true) {
            true => Some(read(s.state().x.clone()).await?),
            false => None,
        };
        let logp = read(s.state().logp.clone()).await?;
        let guards = read(s.guard_steps()).await?;
        if x.iter().flatten().chain(&logp).any(|v| !v.is_finite()) {
            return Err(JsError::new(&format!(
                "invalid steps: the run diverged within {} steps; use more steps or a q nearer 0.5",
                s.steps_done()
            )));
        }
        let out = Object::new();
        set(&out, "lambda", s.lambda().into())?;
        set(&out, "steps_done", (s.steps_done() as u32).into())?;
        set(&out, "done", s.is_done().into())?;
        set(&out, "dim", (self.dim as u32).into())?;
        set(&out, "x", x.map_or(JsValue::NULL, |x| Float32Array::from(&x[..]).into()))?;
        set(&out, "logp", Float32Array::from(&logp[..]).into())?;
        set(&out, "guard_steps", guards.first().copied().unwrap_or(0.0).into())?;
        set(&out, "nfe", (s.nfe() as u32).into())?;
        set(&out, "backend", self.backend.clone().into())?;
        Ok(out.into())
    }

    /// Draws the current state on `canvas` (an `HTMLCanvasElement` or `OffscreenCanvas`
    /// without a 2-D context) with wgpu, from the state's GPU buffer: no readback. WebGPU runs
    /// only. Images as a grid; 2-D particles with their trails, over their histogram if `heat`.
    pub fn draw(&mut self, canvas: JsValue, heat: bool) -> Result<(), JsError> {
        if self.backend != "webgpu" {
            return Err(JsError::new("invalid backend: drawing on the GPU needs a WebGPU run"));
        }
        let x = self.live()?.state().x.clone();
        let picture = Picture::for_dim(self.dim, heat).map_err(js_err)?;
        let size = canvas_size(&canvas)?;
        let gpu = webgpu().ok_or_else(|| JsError::new("backend: WebGPU is not initialised"))?;
        let screen = match self.screen.take() {
            Some(s) if s.canvas == canvas => s,
            _ => screen_on(canvas, &gpu, x.dims()[0], size)?,
        };
        let screen = self.screen.insert(screen);
        if screen.size != size {
            configure(&screen.surface, &gpu.setup, screen.painter.format(), size);
            screen.size = size;
        }
        let frame = match screen.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t) | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            other => return Err(JsError::new(&format!("backend: the canvas gave no texture to draw on ({other:?})"))),
        };
        let view = frame.texture.create_view(&Default::default());
        screen.painter.draw(&mut screen.layer, &x, picture, &view, size.0, size.1).map_err(js_err)?;
        gpu.setup.queue.present(frame);
        Ok(())
    }

    /// Frees the run's tensors now rather than when JS collects the object, and hands the
    /// WebGPU pool's free pages back, so that repeated runs do not hold on to GPU memory.
    pub fn dispose(&mut self) {
        self.screen = None;
        if self.sampler.take().is_some() && self.backend == "webgpu" {
            release_webgpu_pages();
        }
    }
}

/// A `size` surface on `canvas` for batches of `n`, and the painter for its format (built once
/// per page).
fn screen_on(canvas: JsValue, gpu: &WebGpu, n: usize, size: (u32, u32)) -> Result<Screen, JsError> {
    let target = match canvas.clone().dyn_into::<web_sys::HtmlCanvasElement>() {
        Ok(c) => wgpu::SurfaceTarget::Canvas(c),
        Err(v) => match v.dyn_into::<web_sys::OffscreenCanvas>() {
            Ok(c) => wgpu::SurfaceTarget::OffscreenCanvas(c),
            Err(_) => return Err(JsError::new("invalid canvas: not an HTMLCanvasElement or OffscreenCanvas")),
        },
    };
    let surface = gpu
        .setup
        .instance
        .create_surface(target)
        .map_err(|e| JsError::new(&format!("invalid canvas: no WebGPU context on it ({e})")))?;
    let format = surface
        .get_capabilities(&gpu.setup.adapter)
        .formats
        .first()
        .copied()
        .ok_or_else(|| JsError::new("backend: the canvas offers no texture format"))?;
    let painter = match gpu.painter.clone().filter(|p| p.format() == format) {
        Some(p) => p,
        None => {
            let p = Rc::new(Painter::new(&gpu.setup, format));
            WEBGPU.with(|w| w.borrow_mut().as_mut().map(|g| g.painter = Some(p.clone())));
            p
        }
    };
    configure(&surface, &gpu.setup, format, size);
    Ok(Screen { canvas, surface, layer: painter.layer(n), painter, size })
}

/// Score alignment (SPEC 4) of a run's latents, both ways, as `dg align`: `settings` as for
/// [`Run::create`] (the method is ignored: the check follows the plain ODE). Resolves to
/// `{latent, with_score, without_score, dim}`: the latents row-major, `s(x_end)ᵀu_end` and
/// `ω_end` one number per sample. SA holds for a sample where they are positive.
#[wasm_bindgen]
pub async fn align(
    model: JsValue,
    weights: Option<Uint8Array>,
    settings: JsValue,
    backend: String,
) -> Result<JsValue, JsError> {
    let (model, settings, device) = open(model, weights, settings, &backend).await?;
    let (latent, found) = run_alignment(&*model, &settings, &device).map_err(js_err)?;
    let latent = read(latent).await?;
    let with_score = read(found.with_score).await?;
    let without_score = read(found.without_score).await?;
    drop(found.end);
    if backend == "webgpu" {
        release_webgpu_pages();
    }
    if with_score.iter().chain(&without_score).any(|v| !v.is_finite()) {
        return Err(JsError::new("invalid steps: the score-alignment check diverged; use more steps"));
    }
    let out = Object::new();
    set(&out, "latent", Float32Array::from(&latent[..]).into())?;
    set(&out, "with_score", Float32Array::from(&with_score[..]).into())?;
    set(&out, "without_score", Float32Array::from(&without_score[..]).into())?;
    set(&out, "dim", (model.dim() as u32).into())?;
    Ok(out.into())
}

/// `χ_D⁻¹(p)`: the page shows the Prior Guidance radius `χ_D⁻¹(1 - q)` (in units of σ).
#[wasm_bindgen(js_name = chiQuantile)]
pub fn chi_quantile(dim: usize, p: f64) -> Result<f64, JsError> {
    if dim == 0 || !(p > 0.0 && p < 1.0) {
        return Err(JsError::new(&format!(
            "invalid q: the chi quantile needs 0 < p < 1 and D >= 1, got p = {p}, D = {dim}"
        )));
    }
    Ok(crate::sampling::guidance::chi_quantile(dim, p))
}

/// What one run may ask for in this build (`{steps, batch, probes, values}`, `values` the
/// batch × dimension): the page checks settings against it before fetching anything.
#[wasm_bindgen]
pub fn limits() -> Result<JsValue, JsError> {
    serde_wasm_bindgen::to_value(&crate::sampling::sampler::LIMITS).map_err(js_err)
}

/// Memory in use: `{wasm_bytes, gpu}` with `gpu` = `{bytes_in_use, bytes_reserved, allocations}`
/// once WebGPU has been initialised, else null. Tests use it to show runs do not leak.
#[wasm_bindgen(js_name = memoryUsage)]
pub fn memory_usage() -> Result<JsValue, JsError> {
    let bytes = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    let wasm_bytes = bytes.unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let out = Object::new();
    set(&out, "wasm_bytes", wasm_bytes.into())?;
    let gpu = webgpu().and_then(|g| g.device.memory_pool_usage());
    match gpu {
        Some(u) => {
            let g = Object::new();
            set(&g, "bytes_in_use", (u.bytes_in_use as f64).into())?;
            set(&g, "bytes_reserved", (u.bytes_reserved as f64).into())?;
            set(&g, "allocations", (u.number_allocs as f64).into())?;
            set(&out, "gpu", g.into())?;
        }
        None => set(&out, "gpu", JsValue::NULL)?,
    }
    Ok(out.into())
}

fn canvas_size(canvas: &JsValue) -> Result<(u32, u32), JsError> {
    let dim = |k: &str| Reflect::get(canvas, &k.into()).ok().and_then(|v| v.as_f64()).filter(|v| *v >= 1.0);
    match (dim("width"), dim("height")) {
        (Some(w), Some(h)) => Ok((w as u32, h as u32)),
        _ => Err(JsError::new("invalid canvas: it needs a width and height of at least 1")),
    }
}

/// Premultiplied alpha, which every WebGPU canvas supports (wgpu lists only opaque on the web):
/// the page lays the particles over its own heat map.
fn configure(surface: &wgpu::Surface, setup: &WgpuSetup, format: wgpu::TextureFormat, (width, height): (u32, u32)) {
    surface.configure(
        &setup.device,
        &wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width,
            height,
            present_mode: wgpu::PresentMode::Fifo,
            desired_maximum_frame_latency: 2,
            alpha_mode: wgpu::CompositeAlphaMode::PreMultiplied,
            view_formats: vec![],
            color_space: wgpu::SurfaceColorSpace::Auto,
        },
    );
}

/// `o[k] = v` on a plain object (fails only on frozen objects, never ours).
fn set(o: &Object, k: &str, v: JsValue) -> Result<(), JsError> {
    Reflect::set(o, &k.into(), &v).map(drop).map_err(|_| JsError::new(&format!("could not set '{k}'")))
}

async fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, JsError> {
    let data = t.into_data_async().await.map_err(|e| JsError::new(&format!("backend: readback failed: {e:?}")))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| JsError::new(&format!("backend: readback failed: {e:?}")))
}
