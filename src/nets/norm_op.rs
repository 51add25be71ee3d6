//! Group normalisation as a burn backend extension, for training the U-Net: one pass for the
//! statistics and one for the output forward, one for the statistics and one for the
//! gradients backward, parallel over (image, group), on flex in f32. burn composes it from a
//! reshape, two reductions and about a dozen elementwise operations, each a pass over the
//! activations and a graph node to differentiate. Served where the convolutions are
//! ([`crate::nets::kernels::serves`]); everywhere else it is `GroupNorm::forward`, as before.

use burn::nn::GroupNorm;
use burn::tensor::Tensor;

#[cfg(not(target_arch = "wasm32"))]
pub use fast::group_norm as fused_group_norm;

/// `norm.forward(x)`, fused where the kernels serve.
pub fn forward(norm: &GroupNorm, x: Tensor<4>) -> Tensor<4> {
    #[cfg(not(target_arch = "wasm32"))]
    if let (true, Some(gamma), Some(beta)) = (crate::nets::kernels::serves(&x.device()), &norm.gamma, &norm.beta) {
        return fast::group_norm(x, gamma.val(), beta.val(), norm.num_groups, norm.epsilon);
    }
    norm.forward(x)
}

#[cfg(not(target_arch = "wasm32"))]
mod fast {
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::backend::flex::FlexTensor;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Dispatch, Flex, TensorMetadata, backend_extension};
    use burn::tensor::{Tensor, TensorData};
    use rayon::prelude::*;

    /// `GroupNorm` with an affine `γ·x̂ + β` over `[N, C, H, W]`: `groups` groups of
    /// consecutive channels, biased variance, `eps` added before the square root.
    #[backend_extension(Flex, Autodiff)]
    pub trait FusedGroupNorm: burn::backend::Backend {
        fn fused_group_norm(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            groups: usize,
            eps: f64,
        ) -> FloatTensor<Self>;
    }

    /// The extension on burn tensors. Flex tensors in f32 only (with or without autodiff).
    pub fn group_norm(x: Tensor<4>, gamma: Tensor<1>, beta: Tensor<1>, groups: usize, eps: f64) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as FusedGroupNorm>::fused_group_norm(
            x.into_dispatch(),
            gamma.into_dispatch(),
            beta.into_dispatch(),
            groups,
            eps,
        ))
    }

    /// The sizes of one call: in NCHW each (image, group) is one contiguous run of
    /// `per_group·hw` values.
    #[derive(Clone, Copy, Debug)]
    struct Shape {
        c: usize,
        hw: usize,
        groups: usize,
        eps: f64,
    }

    impl Shape {
        fn of(x: &FlexTensor, groups: usize, eps: f64) -> Shape {
            let s = x.shape();
            assert!(s.num_dims() == 4 && s[1].is_multiple_of(groups), "group norm over [N, C, H, W], groups | C");
            Shape { c: s[1], hw: s[2] * s[3], groups, eps }
        }

        fn per_group(&self) -> usize {
            self.c / self.groups
        }

        fn run(&self) -> usize {
            self.per_group() * self.hw
        }
    }

    fn slice(t: &FlexTensor) -> &[f32] {
        t.as_slice::<f32>().expect("a contiguous f32 tensor")
    }

    /// The mean and `1/√(var + eps)` of one group's values (two passes, f64 sums).
    fn stats(x: &[f32], eps: f64) -> (f32, f32) {
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        (mean as f32, (1.0 / (var + eps).sqrt()) as f32)
    }

    /// `(image, group)`: the first channel of a run of `s.run()` values at `index`.
    fn first_channel(s: &Shape, index: usize) -> usize {
        (index % s.groups) * s.per_group()
    }

    fn forward(s: Shape, x: &[f32], gamma: &[f32], beta: &[f32]) -> Vec<f32> {
        let mut y = vec![0f32; x.len()];
        y.par_chunks_mut(s.run()).zip(x.par_chunks(s.run())).enumerate().for_each(|(i, (y, x))| {
            let (mean, rstd) = stats(x, s.eps);
            let c0 = first_channel(&s, i);
            for (k, (y, x)) in y.chunks_mut(s.hw).zip(x.chunks(s.hw)).enumerate() {
                let (scale, shift) = (rstd * gamma[c0 + k], beta[c0 + k] - mean * rstd * gamma[c0 + k]);
                y.iter_mut().zip(x).for_each(|(y, x)| *y = x * scale + shift);
            }
        });
        y
    }

    /// `dx`, and per channel `dγ = Σ dy·x̂` and `dβ = Σ dy` over images and pixels. Per group,
    /// with `g = dy·γ`: `dx = rstd·(g - mean(g) - x̂·mean(g·x̂))`.
    fn backward(s: Shape, x: &[f32], gamma: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let mut dx = vec![0f32; x.len()];
        let partials: Vec<(Vec<f64>, Vec<f64>)> = dx
            .par_chunks_mut(s.run())
            .zip(x.par_chunks(s.run()).zip(dy.par_chunks(s.run())))
            .enumerate()
            .map(|(i, (dx, (x, dy)))| {
                let (mean, rstd) = stats(x, s.eps);
                let c0 = first_channel(&s, i);
                let (mut dgamma, mut dbeta) = (vec![0f64; s.per_group()], vec![0f64; s.per_group()]);
                let (mut sum_g, mut sum_gx) = (0f64, 0f64);
                for (k, (x, dy)) in x.chunks(s.hw).zip(dy.chunks(s.hw)).enumerate() {
                    let (mut dyx, mut dys) = (0f64, 0f64);
                    for (&x, &dy) in x.iter().zip(dy) {
                        let xhat = (x - mean) * rstd;
                        dyx += f64::from(dy * xhat);
                        dys += f64::from(dy);
                    }
                    (dgamma[k], dbeta[k]) = (dyx, dys);
                    let g = f64::from(gamma[c0 + k]);
                    sum_g += g * dys;
                    sum_gx += g * dyx;
                }
                let n = s.run() as f64;
                let (mean_g, mean_gx) = ((sum_g / n) as f32, (sum_gx / n) as f32);
                for (k, (dx, (x, dy))) in dx.chunks_mut(s.hw).zip(x.chunks(s.hw).zip(dy.chunks(s.hw))).enumerate() {
                    let g = gamma[c0 + k];
                    for (dx, (&x, &dy)) in dx.iter_mut().zip(x.iter().zip(dy)) {
                        let xhat = (x - mean) * rstd;
                        *dx = rstd * (dy * g - mean_g - xhat * mean_gx);
                    }
                }
                (dgamma, dbeta)
            })
            .collect();
        let (mut dgamma, mut dbeta) = (vec![0f64; s.c], vec![0f64; s.c]);
        for (i, (dg, db)) in partials.iter().enumerate() {
            let c0 = first_channel(&s, i);
            for k in 0..s.per_group() {
                dgamma[c0 + k] += dg[k];
                dbeta[c0 + k] += db[k];
            }
        }
        let narrow = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
        (dx, narrow(dgamma), narrow(dbeta))
    }

    impl FusedGroupNorm for Flex {
        fn fused_group_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, groups: usize, eps: f64) -> FlexTensor {
            let s = Shape::of(&x, groups, eps);
            let (x, gamma, beta) = (x.to_contiguous(), gamma.to_contiguous(), beta.to_contiguous());
            FlexTensor::from_data(TensorData::new(forward(s, slice(&x), slice(&gamma), slice(&beta)), x.shape()))
        }
    }

    /// The backward step of [`FusedGroupNorm`] on autodiff: gradients for the input, `γ` and
    /// `β`, each only when its node is tracked.
    #[derive(Debug)]
    struct FusedGroupNormBackward;

    impl Backward<Flex, 3> for FusedGroupNormBackward {
        /// The input's and `γ`'s checkpoints, and the sizes.
        type State = (NodeId, NodeId, Shape);

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
            let [node_x, node_gamma, node_beta] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
            let (x_state, gamma_state, s) = ops.state;
            let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
            let gamma: FlexTensor = checkpointer.retrieve_node_output(gamma_state);
            let (x, gamma) = (x.to_contiguous(), gamma.to_contiguous());
            let (dx, dgamma, dbeta) = backward(s, slice(&x), slice(&gamma), slice(&dy));
            if let Some(node) = node_x {
                grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, x.shape())));
            }
            if let Some(node) = node_gamma {
                grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dgamma, [s.c])));
            }
            if let Some(node) = node_beta {
                grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dbeta, [s.c])));
            }
        }
    }

    impl<C: CheckpointStrategy> FusedGroupNorm for Autodiff<Flex, C> {
        fn fused_group_norm(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            beta: FloatTensor<Self>,
            groups: usize,
            eps: f64,
        ) -> FloatTensor<Self> {
            let s = Shape::of(x.primitive(), groups, eps);
            match FusedGroupNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful()
            {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&gamma), s);
                    let y = Flex::fused_group_norm(
                        x.into_primitive(),
                        gamma.into_primitive(),
                        beta.into_primitive(),
                        groups,
                        eps,
                    );
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(Flex::fused_group_norm(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    groups,
                    eps,
                )),
            }
        }
    }
}
