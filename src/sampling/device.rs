//! Choosing a backend at run time: burn's `flex` CPU backend (f64 for exactness, or f32) and
//! wgpu (f32; lavapipe natively on a machine without a GPU, WebGPU in the browser).

use crate::error::{Error, Result};
use burn::tensor::{Device, FloatDType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F64,
    F32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Wgpu,
}

impl Precision {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "f64" => Ok(Precision::F64),
            "f32" => Ok(Precision::F32),
            _ => Err(Error::invalid("precision", format!("'{s}' is not one of f64, f32"))),
        }
    }
    fn dtype(self) -> FloatDType {
        match self {
            Precision::F64 => FloatDType::F64,
            Precision::F32 => FloatDType::F32,
        }
    }
}

impl Backend {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "cpu" => Ok(Backend::Cpu),
            "wgpu" => Ok(Backend::Wgpu),
            _ => Err(Error::invalid("backend", format!("'{s}' is not one of cpu, wgpu"))),
        }
    }
}

/// Sets a device's float type once; a second, different request is an error, since burn
/// fixes a device's defaults at its first tensor.
fn configured(mut device: Device, precision: Precision) -> Result<Device> {
    if device.configure(precision.dtype()).is_err() && device.settings().float_dtype != precision.dtype() {
        return Err(Error::Backend(format!(
            "this process already runs the device in {:?}; it cannot switch to {precision:?}",
            device.settings().float_dtype
        )));
    }
    Ok(device)
}

/// burn's pure-Rust CPU backend.
pub fn cpu(precision: Precision) -> Result<Device> {
    configured(Device::flex(), precision)
}

/// The f64 CPU device the exactness tests use.
pub fn cpu_f64() -> Device {
    cpu(Precision::F64).expect("flex supports f64")
}

/// Native wgpu: the first adapter wgpu finds (a GPU, or lavapipe's software Vulkan).
#[cfg(not(target_arch = "wasm32"))]
pub fn wgpu() -> Result<Device> {
    wgpu_with_setup().map(|(d, _)| d)
}

/// Native wgpu and the wgpu handles burn runs it on (for [`crate::web::canvas`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn wgpu_with_setup() -> Result<(Device, burn::backend::wgpu::WgpuSetup)> {
    // burn panics deep inside when no adapter exists; initialise explicitly to get an error.
    type Init = std::result::Result<(Device, burn::backend::wgpu::WgpuSetup), String>;
    static INIT: std::sync::OnceLock<Init> = std::sync::OnceLock::new();
    INIT.get_or_init(|| Device::wgpu_options().init_with_setup().map_err(|e| format!("no wgpu adapter: {e}")))
        .clone()
        .map_err(Error::Backend)
}

/// Opens a backend natively. wgpu runs in f32 only.
#[cfg(not(target_arch = "wasm32"))]
pub fn open(backend: Backend, precision: Precision) -> Result<Device> {
    match (backend, precision) {
        (Backend::Cpu, p) => cpu(p),
        (Backend::Wgpu, Precision::F32) => wgpu(),
        (Backend::Wgpu, Precision::F64) => {
            Err(Error::invalid("precision", "wgpu runs in f32; use --precision f32 with --backend wgpu"))
        }
    }
}
