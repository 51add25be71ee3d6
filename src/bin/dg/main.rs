//! `dg`: the sampler core from the command line. JSON on stdout; one-line errors on stderr.
//! Native only; on wasm32 (where `cargo test --test web` builds every binary) it is empty.

#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod detail;
#[cfg(not(target_arch = "wasm32"))]
mod eval;
#[cfg(not(target_arch = "wasm32"))]
mod plot;

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    cli::main();
}
