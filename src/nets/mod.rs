//! The networks: what a trained model is and how it runs. Velocity networks for linear flow
//! matching (SPEC 1): an MLP for the 2-D lab ([`mlp`]) and a class-conditional U-Net for images
//! ([`unet`]); their weights files ([`weights`]); and the U-Net's CPU fast path, from the
//! bottom up: hand-written kernels ([`kernels`], which also decide where they serve), burn
//! backend extensions that train on them ([`conv_op`], [`norm_op`], [`silu_op`]) and the inference path
//! ([`host`]). This module resolves names to score models for the CLI and the page. Builds on
//! [`crate::sampling`]'s traits; knows nothing of training or the browser.

pub mod conv_op;
pub mod host;
pub mod kernels;
pub mod mlp;
pub mod norm_op;
pub mod silu_op;
pub(crate) mod time;
pub mod unet;
pub mod weights;

pub use mlp::{Mlp, MlpConfig};
pub use unet::{Conditioned, UNet, UNetConfig, image_shape};
pub use weights::check_loaded;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use weights::save_with_arch;

use crate::error::{Error, Result};
use crate::sampling::schedule::Path;
use crate::sampling::score::{FromPrediction, Prediction, Predictor, ScoreModel};
use burn::tensor::Device;
use std::rc::Rc;
use weights::{read_arch, weights_store};

/// A trained velocity network as a score model on the linear path.
pub fn score_model<P: Predictor>(net: P) -> FromPrediction<P> {
    FromPrediction { net, kind: Prediction::Velocity, path: Path::Linear }
}

/// A trained network as its weights file describes it.
#[allow(clippy::large_enum_variant)] // one per model; boxing would only add a hop
#[derive(Clone)] // burn modules clone by reference: a copy shares the weights
pub enum Net {
    Mlp(Mlp, MlpConfig),
    UNet(UNet, UNetConfig),
}

/// What a weights file says about itself, in its safetensors metadata under `dg`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "arch", rename_all = "lowercase")]
pub enum Arch {
    Mlp(MlpConfig),
    UNet(UNetConfig),
}

impl Net {
    pub fn init(arch: &Arch, device: &Device) -> Net {
        match arch {
            Arch::Mlp(c) => Net::Mlp(c.init(device), *c),
            Arch::UNet(c) => Net::UNet(c.init(device), *c),
        }
    }

    pub fn arch(&self) -> Arch {
        match self {
            Net::Mlp(_, c) => Arch::Mlp(*c),
            Net::UNet(_, c) => Arch::UNet(*c),
        }
    }

    /// Writes a weights file with its architecture in the metadata; `half` stores the floats
    /// as f16 (half the bytes; loading casts them back to the device's precision).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save(&self, path: &str, half: bool) -> Result<()> {
        let arch = self.arch();
        match self {
            Net::Mlp(m, _) => save_with_arch(m, &arch, path, half),
            Net::UNet(m, _) => save_with_arch(m, &arch, path, half),
        }
    }

    /// Reads a weights file's bytes; `origin` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str, device: &Device) -> Result<Net> {
        use burn::store::ModuleSnapshot;
        let arch = read_arch(&bytes).map_err(|reason| Error::Model { path: origin.into(), reason })?;
        let mut net = Net::init(&arch, device);
        let mut store = weights_store(bytes, device);
        match &mut net {
            Net::Mlp(m, _) => check_loaded(origin, m.load_from(&mut store))?,
            Net::UNet(m, _) => check_loaded(origin, m.load_from(&mut store))?,
        }
        Ok(net)
    }
}

/// The shipped models, trained by `dg train` (see models/README.md).
pub const SHIPPED: [&str; 6] = ["moons", "8gaussians", "checkerboard", "gmm", "fashion", "emoji"];

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
/// host kernels ([`crate::nets::host`]); f64 and wgpu keep burn's path.
pub fn from_weights(bytes: Vec<u8>, origin: &str, cond: &Conditioning, device: &Device) -> Result<Rc<dyn ScoreModel>> {
    from_net(Net::from_bytes(bytes, origin, device)?, cond, device)
}

/// A network already read (by [`Net::from_bytes`] on `device`) as a score model with the
/// conditioning asked for: the page's workers keep the last one read, so that a run does not
/// parse its weights again.
pub fn from_net(net: Net, cond: &Conditioning, device: &Device) -> Result<Rc<dyn ScoreModel>> {
    crate::error::finite("cfg", cond.cfg)?;
    Ok(match net {
        Net::Mlp(m, _) => Rc::new(score_model(m)),
        Net::UNet(net, config) => {
            if let Some(c) = cond.classes.iter().find(|&&c| c > config.classes) {
                let most = config.classes - 1;
                return Err(Error::invalid(
                    "class",
                    format!("{c} is more than this model's {most} (or its null label)"),
                ));
            }
            let net = conditioned(net, config, cond);
            if crate::nets::kernels::serves(device) {
                Rc::new(score_model(crate::nets::host::HostUNet::new(net)))
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
    path: crate::sampling::schedule::Path,
    cond: &Conditioning,
    device: &Device,
) -> Result<Rc<dyn ScoreModel>> {
    use crate::error::Error;
    use crate::sampling::gmm::{Gmm, load_spec};
    use crate::sampling::schedule::Path;
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
