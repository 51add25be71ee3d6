//! The browser API (wasm32 only): a thin wasm-bindgen layer over [`Sampler`]. Every error is
//! a JS `Error` with the library's one-line message; readback is async only.

use crate::device::{Precision, cpu};
use crate::gmm::{Gmm, MixtureSpec};
use crate::models::{Conditioning, from_weights};
use crate::sampler::{Sampler, Settings};
use crate::schedule::Path;
use crate::score::ScoreModel;
use burn::tensor::{Device, Tensor};
use js_sys::{Float32Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

thread_local! {
    /// burn's WebGPU runtime can be initialised once per page.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The device for `"webgpu"` or `"cpu"`. The page probes `navigator.gpu` first: burn panics
/// where no adapter exists.
async fn device(backend: &str) -> Result<Device, JsError> {
    match backend {
        "cpu" => cpu(Precision::F32).map_err(js_err),
        "webgpu" => {
            if let Some(d) = WEBGPU.with(|w| w.borrow().clone()) {
                return Ok(d);
            }
            let d = Device::wgpu_options()
                .init_async()
                .await
                .map_err(|e| JsError::new(&format!("backend: WebGPU: {e}")))?;
            WEBGPU.with(|w| *w.borrow_mut() = Some(d.clone()));
            Ok(d)
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

/// One sampling run, stepped from JS.
#[wasm_bindgen]
pub struct Run {
    sampler: Option<Sampler>,
    dim: usize,
    backend: String,
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
        let opts: ModelOptions =
            serde_wasm_bindgen::from_value(model).map_err(|e| JsError::new(&format!("invalid model: {e}")))?;
        let settings: Settings =
            serde_wasm_bindgen::from_value(settings).map_err(|e| JsError::new(&format!("invalid settings: {e}")))?;
        settings.validate().map_err(js_err)?;
        let device = device(&backend).await?;
        let model: Rc<dyn ScoreModel> = match (opts.gmm, weights) {
            (Some(spec), _) => Rc::new(Gmm::new(spec, Path::Linear, &device).map_err(js_err)?),
            (None, Some(bytes)) => {
                let cond = Conditioning { classes: opts.class.into_iter().collect(), cfg: opts.cfg.unwrap_or(1.0) };
                from_weights(bytes.to_vec(), "weights", &cond, &device).map_err(js_err)?
            }
            (None, None) => return Err(JsError::new("invalid model: give a mixture or a weights file")),
        };
        let dim = model.dim();
        let sampler = Sampler::new(model, settings, &device).map_err(js_err)?;
        Ok(Run { sampler: Some(sampler), dim, backend })
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
    /// with `x` a row-major Float32Array and `logp` one number per sample.
    pub async fn read(&self) -> Result<JsValue, JsError> {
        let s = self.live()?;
        let x = read(s.state().x.clone()).await?;
        let logp = read(s.state().logp.clone()).await?;
        let guards = read(s.guard_steps()).await?;
        if x.iter().chain(&logp).any(|v| !v.is_finite()) {
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
        set(&out, "x", Float32Array::from(&x[..]).into())?;
        set(&out, "logp", Float32Array::from(&logp[..]).into())?;
        set(&out, "guard_steps", guards.first().copied().unwrap_or(0.0).into())?;
        set(&out, "nfe", (s.nfe() as u32).into())?;
        set(&out, "backend", self.backend.clone().into())?;
        Ok(out.into())
    }

    /// Frees the run's tensors now rather than when JS collects the object, and hands the
    /// WebGPU pool's free pages back, so that repeated runs do not hold on to GPU memory.
    pub fn dispose(&mut self) {
        if self.sampler.take().is_some() && self.backend == "webgpu" {
            WEBGPU.with(|w| w.borrow().as_ref().map(Device::memory_cleanup));
        }
    }
}

/// `χ_D⁻¹(p)`: the page shows the Prior Guidance radius `χ_D⁻¹(1 - q)` (in units of σ).
#[wasm_bindgen(js_name = chiQuantile)]
pub fn chi_quantile(dim: usize, p: f64) -> Result<f64, JsError> {
    if dim == 0 || !(p > 0.0 && p < 1.0) {
        return Err(JsError::new(&format!(
            "invalid q: the chi quantile needs 0 < p < 1 and D >= 1, got p = {p}, D = {dim}"
        )));
    }
    Ok(crate::guidance::chi_quantile(dim, p))
}

/// Memory in use: `{wasm_bytes, gpu}` with `gpu` = `{bytes_in_use, bytes_reserved, allocations}`
/// once WebGPU has been initialised, else null. Tests use it to show runs do not leak.
#[wasm_bindgen(js_name = memoryUsage)]
pub fn memory_usage() -> Result<JsValue, JsError> {
    let bytes = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer();
    let wasm_bytes = bytes.unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    let out = Object::new();
    set(&out, "wasm_bytes", wasm_bytes.into())?;
    let gpu = WEBGPU.with(|w| w.borrow().as_ref().and_then(Device::memory_pool_usage));
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

/// `o[k] = v` on a plain object (fails only on frozen objects, never ours).
fn set(o: &Object, k: &str, v: JsValue) -> Result<(), JsError> {
    Reflect::set(o, &k.into(), &v).map(drop).map_err(|_| JsError::new(&format!("could not set '{k}'")))
}

async fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, JsError> {
    let data = t.into_data_async().await.map_err(|e| JsError::new(&format!("backend: readback failed: {e:?}")))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| JsError::new(&format!("backend: readback failed: {e:?}")))
}
