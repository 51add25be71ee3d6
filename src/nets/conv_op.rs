//! The U-Net's convolutions as a burn backend extension (`#[backend_extension]`), so that
//! training runs them, forward and backward, on the blocked kernels of
//! [`crate::nets::kernels::grad`] while burn's autodiff, optimizers and modules stay as they are.
//!
//! The operation is implemented for burn's flex backend (the kernels in f32) and for
//! `Autodiff<Flex>` with a handwritten backward (the input gradient as a transposed
//! convolution, the weight and bias gradients as reductions, all on the kernels). It is only
//! called where [`crate::nets::kernels::serves`] the device (flex in f32, natively, unless
//! `DG_HOST_KERNELS=0`) and for the shapes the kernels take; everything else (wgpu, f64, the
//! browser, other convolutions) runs `Conv2d::forward`, burn's own operator, as before.

use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

#[cfg(not(target_arch = "wasm32"))]
pub use fast::conv2d;

/// `c.forward(x)`, on the kernels where they serve.
pub fn forward(c: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(not(target_arch = "wasm32"))]
    if let (Some((stride, pad)), Some(bias)) = (fast::settings(c, &x), &c.bias) {
        return fast::conv2d(x, c.weight.val(), bias.val(), stride, pad);
    }
    c.forward(x)
}

#[cfg(not(target_arch = "wasm32"))]
mod fast {
    use crate::nets::kernels::grad::{self, Geometry};
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::ModuleOps;
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Dispatch, Flex, TensorMetadata, backend_extension};
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{DType, Tensor, TensorData};

    /// A 2-D convolution with a bias, a square kernel, and one stride and one zero padding for
    /// both axes.
    #[backend_extension(Flex, Autodiff)]
    pub trait BlockedConv: burn::backend::Backend {
        fn blocked_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            stride: usize,
            pad: usize,
        ) -> FloatTensor<Self>;
    }

    /// The extension on burn tensors: `conv2d(x, weight, bias)` with a `k × k` kernel, both
    /// axes strided by `stride` and padded by `pad`. Flex tensors only (with or without
    /// autodiff): the dispatch panics on other backends.
    pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, stride: usize, pad: usize) -> Tensor<4> {
        Tensor::from_dispatch(<Dispatch as BlockedConv>::blocked_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            stride,
            pad,
        ))
    }

    /// The stride and padding when `c` on `x` is a convolution the kernels take on a device they
    /// serve: one stride and one padding for both axes, no dilation or groups.
    pub(super) fn settings(c: &Conv2d, x: &Tensor<4>) -> Option<(usize, usize)> {
        if !crate::nets::kernels::serves(&x.device())
            || c.dilation != [1, 1]
            || c.groups != 1
            || c.stride[0] != c.stride[1]
        {
            return None;
        }
        let pad = match c.padding {
            PaddingConfig2d::Valid => 0,
            PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => t,
            _ => return None,
        };
        let [oc, ic, kh, kw] = c.weight.dims();
        let [n, xc, h, w] = x.dims();
        let g = Geometry { n, ic, oc, h, w, k: kh, stride: c.stride[0], pad };
        (kh == kw && xc == ic && g.supported()).then_some((c.stride[0], pad))
    }

    fn options(stride: usize, pad: usize) -> ConvOptions<2> {
        ConvOptions::new([stride; 2], [pad; 2], [1; 2], 1)
    }

    /// The convolution's sizes when the kernels compute it: both tensors f32, shapes they take.
    fn geometry(x: &FlexTensor, weight: &FlexTensor, stride: usize, pad: usize) -> Option<Geometry> {
        let (xs, ws) = (x.shape(), weight.shape());
        if x.dtype() != DType::F32 || weight.dtype() != DType::F32 || xs.num_dims() != 4 || ws.num_dims() != 4 {
            return None;
        }
        let g = Geometry { n: xs[0], ic: xs[1], oc: ws[0], h: xs[2], w: xs[3], k: ws[2], stride, pad };
        (ws[1] == g.ic && ws[3] == g.k && g.supported()).then_some(g)
    }

    fn slice(t: &FlexTensor) -> &[f32] {
        t.as_slice::<f32>().expect("a contiguous f32 tensor")
    }

    fn tensor(v: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(v, shape))
    }

    impl BlockedConv for Flex {
        fn blocked_conv2d(
            x: FlexTensor,
            weight: FlexTensor,
            bias: FlexTensor,
            stride: usize,
            pad: usize,
        ) -> FlexTensor {
            let Some(g) = geometry(&x, &weight, stride, pad).filter(|_| bias.dtype() == DType::F32) else {
                return Flex::conv2d(x, weight, Some(bias), options(stride, pad));
            };
            let (x, weight, bias) = (x.to_contiguous(), weight.to_contiguous(), bias.to_contiguous());
            let (oh, ow) = g.out();
            tensor(grad::forward(&g, slice(&x), slice(&weight), slice(&bias)), [g.n, g.oc, oh, ow])
        }
    }

    /// The backward step of [`BlockedConv`] on autodiff: gradients for the input, weight and
    /// bias, each only when its node is tracked.
    #[derive(Debug)]
    struct BlockedConvBackward;

    impl Backward<Flex, 3> for BlockedConvBackward {
        /// The input's and the weight's checkpoints, and the convolution's sizes.
        type State = (NodeId, NodeId, Geometry);

        fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
            let [node_x, node_weight, node_bias] = ops.parents;
            let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
            let (x_state, weight_state, g) = ops.state;
            let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
            let weight: FlexTensor = checkpointer.retrieve_node_output(weight_state);
            if let Some(node) = node_x {
                let weight = weight.to_contiguous();
                grads.register::<Flex>(
                    node.id,
                    tensor(grad::input_grad(&g, slice(&dy), slice(&weight)), [g.n, g.ic, g.h, g.w]),
                );
            }
            if node_weight.is_some() || node_bias.is_some() {
                let x = x.to_contiguous();
                let (dw, db) = grad::weight_grad(&g, slice(&x), slice(&dy));
                if let Some(node) = node_weight {
                    grads.register::<Flex>(node.id, tensor(dw, [g.oc, g.ic, g.k, g.k]));
                }
                if let Some(node) = node_bias {
                    grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(db, [g.oc])));
                }
            }
        }
    }

    impl<C: CheckpointStrategy> BlockedConv for Autodiff<Flex, C> {
        fn blocked_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            stride: usize,
            pad: usize,
        ) -> FloatTensor<Self> {
            let fits = bias.primitive().dtype() == DType::F32;
            let Some(g) = geometry(x.primitive(), weight.primitive(), stride, pad).filter(|_| fits) else {
                // burn's own convolution and backward
                return Self::conv2d(x, weight, Some(bias), options(stride, pad));
            };
            match BlockedConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
                OpsKind::Tracked(mut prep) => {
                    let state = (prep.checkpoint(&x), prep.checkpoint(&weight), g);
                    let y = Flex::blocked_conv2d(
                        x.into_primitive(),
                        weight.into_primitive(),
                        bias.into_primitive(),
                        stride,
                        pad,
                    );
                    prep.finish(state, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(Flex::blocked_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    stride,
                    pad,
                )),
            }
        }
    }
}
