//! The top layer: what the page needs beyond the maths and the networks. [`canvas`] draws a
//! run's state with wgpu straight from the tensor's buffer (every target; tested natively on
//! lavapipe); [`api`] (wasm32 only) is the thin wasm-bindgen layer the page's workers call.

#[cfg(target_arch = "wasm32")]
pub mod api;
pub mod canvas;
