//! Native only: flow-matching training of the networks ([`flow`]), the feature classifier
//! that measures image samples ([`classifier`]), and the measures themselves ([`eval`]: PNG
//! sizes, Fréchet distance). Builds on [`crate::sampling`], [`crate::nets`] and [`crate::data`].

pub mod classifier;
pub mod eval;
pub mod flow;
