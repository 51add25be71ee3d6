//! The weights file: safetensors with the architecture in its `dg` metadata entry, floats in
//! f32 or f16 cast to the device's precision on load; a file that does not fit is an error
//! naming it, never a panic.

use crate::error::{Error, Result};
use crate::nets::Arch;
use burn::tensor::Device;

/// Checks a loaded file's tensors against the shapes a config expects: a wrong-shaped or
/// truncated file is an error naming it, never a panic.
pub fn check_loaded(
    path: &str,
    result: std::result::Result<burn::store::ApplyResult, impl std::fmt::Display>,
) -> Result<()> {
    let applied = result.map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        return Err(Error::Model {
            path: path.into(),
            reason: format!(
                "does not fit the architecture: {} errors, missing {:?}",
                applied.errors.len(),
                applied.missing.iter().take(3).collect::<Vec<_>>()
            ),
        });
    }
    Ok(())
}

/// A safetensors file's bytes as a store that casts its floats (f32 or f16 in files) to the
/// device's precision (which may be f64).
pub(crate) fn weights_store(bytes: Vec<u8>, device: &Device) -> burn::store::SafetensorsStore {
    use burn::store::{FloatCastAdapter, SafetensorsStore};
    SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(FloatCastAdapter::to(device.settings().float_dtype.into()))
}

/// Writes a module's weights with `arch` in the `dg` metadata entry (what [`Net::from_bytes`]
/// reads back); `half` stores the floats as f16.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn save_with_arch<M: burn::store::ModuleSnapshot>(m: &M, arch: &Arch, path: &str, half: bool) -> Result<()> {
    use burn::store::{FloatCastAdapter, SafetensorsStore};
    let meta = serde_json::to_string(arch).expect("serialisable");
    let mut store = SafetensorsStore::from_file(path).metadata("dg", meta).overwrite(true);
    if half {
        store = store.with_to_adapter(FloatCastAdapter::to(burn::tensor::DType::F16));
    }
    m.save_into(&mut store).map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })
}

/// The `dg` entry of a safetensors header: 8 bytes of little-endian length, then JSON.
pub(crate) fn read_arch(bytes: &[u8]) -> std::result::Result<Arch, String> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or("not a safetensors file (shorter than 8 bytes)")?;
    let header = usize::try_from(len)
        .ok()
        .and_then(|n| bytes.get(8..8usize.checked_add(n)?))
        .ok_or("truncated safetensors header")?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("bad safetensors header: {e}"))?;
    let meta = header
        .get("__metadata__")
        .and_then(|m| m.get("dg"))
        .and_then(|m| m.as_str())
        .ok_or("no 'dg' architecture in the metadata: not a dg weights file")?;
    serde_json::from_str(meta).map_err(|e| format!("bad architecture in the metadata: {e}"))
}
