//! SiLU as a burn backend extension, for training the U-Net: one fused, vectorised pass
//! forward (`x·σ(x)`) and one backward (`dy·silu'(x)`) on flex in f32, where burn composes
//! it from a sigmoid (two exponentials and a logarithm, each its own pass) and a product,
//! with a graph node for each. Served where the convolutions are ([`crate::nets::kernels::serves`]);
//! everywhere else it is `burn::tensor::activation::silu`, as before.

use burn::tensor::Tensor;

/// `silu(x)`, fused where the kernels serve.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(not(target_arch = "wasm32"))]
    if crate::nets::kernels::serves(&x.device()) {
        return fast::silu(x);
    }
    burn::tensor::activation::silu(x)
}

#[cfg(not(target_arch = "wasm32"))]
pub use fast::silu as fused_silu;

#[cfg(not(target_arch = "wasm32"))]
mod fast {
    use crate::nets::kernels::{isa, multiversion};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::{ActivationOps, FloatTensorOps};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Dispatch, Flex, TensorMetadata, backend_extension};
    use burn::tensor::{DType, Tensor, TensorData};
    use rayon::prelude::*;

    #[backend_extension(Flex, Autodiff)]
    pub trait FusedSilu: burn::backend::Backend {
        fn fused_silu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    }

    /// The extension on burn tensors. Flex tensors only (with or without autodiff): the
    /// dispatch panics on other backends.
    pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
        Tensor::from_dispatch(<Dispatch as FusedSilu>::fused_silu(x.into_dispatch()))
    }

    /// Elements per parallel task: enough to outweigh a task's overhead.
    const CHUNK: usize = 1 << 14;

    multiversion! {
        /// `y = silu(x)`.
        fn forward(x: &[f32], y: &mut [f32]) {
            for (y, x) in y.iter_mut().zip(x) {
                *y = crate::nets::kernels::silu(*x);
            }
        }
    }

    multiversion! {
        /// `dx = dy·silu'(x)`.
        fn backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
            for ((dx, dy), x) in dx.iter_mut().zip(dy).zip(x) {
                *dx = dy * crate::nets::kernels::silu_prime(*x);
            }
        }
    }

    /// `f(x chunk, other chunk, output chunk)` over an f32 tensor `x` (and `other` of its
    /// shape; `x` again when there is none), in parallel.
    fn map(x: &FlexTensor, other: Option<&FlexTensor>, f: impl Fn(&[f32], &[f32], &mut [f32]) + Sync) -> FlexTensor {
        let x = x.to_contiguous();
        let other = other.map(FlexTensor::to_contiguous);
        let xs = x.as_slice::<f32>().expect("a contiguous f32 tensor");
        let os = other.as_ref().map_or(xs, |o| o.as_slice::<f32>().expect("a contiguous f32 tensor"));
        let mut out = vec![0f32; xs.len()];
        out.par_chunks_mut(CHUNK)
            .zip(xs.par_chunks(CHUNK).zip(os.par_chunks(CHUNK)))
            .for_each(|(o, (x, y))| f(x, y, o));
        FlexTensor::from_data(TensorData::new(out, x.shape()))
    }

    impl FusedSilu for Flex {
        fn fused_silu(x: FlexTensor) -> FlexTensor {
            if x.dtype() != DType::F32 {
                return Flex::float_mul(x.clone(), Flex::sigmoid(x));
            }
            let isa = isa();
            map(&x, None, |x, _, y| forward(isa, x, y))
        }
    }

    /// The backward step of [`FusedSilu`] on autodiff: `dx = dy·silu'(x)`.
    #[derive(Debug)]
    struct FusedSiluBackward;

    impl Backward<Flex, 1> for FusedSiluBackward {
        /// The input's checkpoint.
        type State = NodeId;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
            let [node_x] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node);
            let x: FlexTensor = checkpointer.retrieve_node_output(ops.state);
            if let Some(node) = node_x {
                let isa = isa();
                grads.register::<Flex>(node.id, map(&x, Some(&dy), |x, dy, dx| backward(isa, x, dy, dx)));
            }
        }
    }

    impl<C: CheckpointStrategy> FusedSilu for Autodiff<Flex, C> {
        fn fused_silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
            if x.primitive().dtype() != DType::F32 {
                // burn's composition, differentiated by burn
                return Self::float_mul(x.clone(), Self::sigmoid(x));
            }
            match FusedSiluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
                OpsKind::Tracked(mut prep) => {
                    let state = prep.checkpoint(&x);
                    prep.finish(state, Flex::fused_silu(x.into_primitive()))
                }
                OpsKind::UnTracked(prep) => prep.finish(Flex::fused_silu(x.into_primitive())),
            }
        }
    }
}
