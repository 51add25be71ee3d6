//! Names on the command line and in the page, resolved to score models.

use crate::error::{Error, Result};
use crate::gmm::{Gmm, load_spec};
use crate::schedule::Path;
use crate::score::ScoreModel;
use burn::tensor::Device;
use std::rc::Rc;

/// `gmm:FILE.json` is an analytic mixture along `path`.
pub fn open(name: &str, path: Path, device: &Device) -> Result<Rc<dyn ScoreModel>> {
    if let Some(file) = name.strip_prefix("gmm:") {
        return Ok(Rc::new(Gmm::new(load_spec(file)?, path, device)?));
    }
    Err(Error::invalid(
        "model",
        format!("unknown model '{name}': use gmm:FILE.json"),
    ))
}
