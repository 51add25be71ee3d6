//! One error type for the library: every variant names what was wrong, in one line.

/// What can go wrong, each naming the parameter or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting or argument outside its domain.
    #[error("invalid {name}: {reason}")]
    Invalid { name: String, reason: String },
    /// A model or mixture file that cannot be used.
    #[error("model {path}: {reason}")]
    Model { path: String, reason: String },
    /// An input data file that cannot be used.
    #[error("input {path}: {reason}")]
    Input { path: String, reason: String },
    /// The compute backend failed or is missing.
    #[error("backend: {0}")]
    Backend(String),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(name: &str, reason: impl Into<String>) -> Self {
        Error::Invalid { name: name.into(), reason: reason.into() }
    }
}

/// Rejects NaN and infinities up front, so that no NaN ever reaches a result.
pub fn finite(name: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(name, format!("must be a finite number, got {value}")))
    }
}
