//! Names on the command line and in the page, resolved to score models.

use crate::error::Result;
use crate::nets::{Conditioned, Net, UNet, UNetConfig, score_model};
use crate::score::ScoreModel;
use burn::tensor::Device;
use std::rc::Rc;

/// The shipped models, trained by `dg train` (see models/README.md).
pub const SHIPPED: [&str; 5] = ["moons", "8gaussians", "checkerboard", "gmm", "fashion"];

/// Where shipped weights live: `$DG_MODELS`, else the repository's `models/`.
pub fn shipped_dir() -> String {
    std::env::var("DG_MODELS").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/models").to_string())
}

/// Conditioning of a class-conditional network: one class per sample (cycled over the batch
/// from sample `first`, the run's first index; empty for all ten in turn) and the
/// classifier-free guidance scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditioning {
    pub classes: Vec<usize>,
    pub first: usize,
    pub cfg: f64,
}

impl Default for Conditioning {
    fn default() -> Self {
        Conditioning { classes: Vec::new(), first: 0, cfg: 1.0 }
    }
}

/// A network from its weights file's bytes. A U-Net on burn's CPU backend in f32 runs on the
/// host kernels ([`crate::host_net`]); f64 and wgpu keep burn's path.
pub fn from_weights(bytes: Vec<u8>, origin: &str, cond: &Conditioning, device: &Device) -> Result<Rc<dyn ScoreModel>> {
    crate::error::finite("cfg", cond.cfg)?;
    Ok(match Net::from_bytes(bytes, origin, device)? {
        Net::Mlp(m, _) => Rc::new(score_model(m)),
        Net::UNet(net, config) => {
            let net = conditioned(net, config, cond);
            if crate::host_net::serves(device) {
                Rc::new(score_model(crate::host_net::HostUNet::new(net)))
            } else {
                Rc::new(score_model(net))
            }
        }
    })
}

/// A U-Net with the conditioning asked for (all classes in turn when none are named).
pub fn conditioned(net: UNet, config: UNetConfig, cond: &Conditioning) -> Conditioned {
    let labels = if cond.classes.is_empty() { (0..config.classes).collect() } else { cond.classes.clone() };
    Conditioned { net, config, labels, first: cond.first, cfg: cond.cfg }
}

/// `gmm:FILE.json` is an analytic mixture along `path`; a shipped name or a weights file
/// is a trained network (linear path only).
#[cfg(not(target_arch = "wasm32"))]
pub fn open(
    name: &str,
    path: crate::schedule::Path,
    cond: &Conditioning,
    device: &Device,
) -> Result<Rc<dyn ScoreModel>> {
    use crate::error::Error;
    use crate::gmm::{Gmm, load_spec};
    use crate::schedule::Path;
    if let Some(file) = name.strip_prefix("gmm:") {
        return Ok(Rc::new(Gmm::new(load_spec(file)?, path, device)?));
    }
    let file = if SHIPPED.contains(&name) { format!("{}/{name}.safetensors", shipped_dir()) } else { name.to_string() };
    if !SHIPPED.contains(&name) && !name.ends_with(".safetensors") {
        return Err(Error::invalid(
            "model",
            format!("unknown model '{name}': use gmm:FILE.json, one of {}, or a .safetensors file", SHIPPED.join(", ")),
        ));
    }
    if path != Path::Linear {
        return Err(Error::invalid("path", "trained models follow the linear path"));
    }
    let bytes = std::fs::read(&file).map_err(|e| Error::Model { path: file.clone(), reason: e.to_string() })?;
    from_weights(bytes, &file, cond, device)
}
