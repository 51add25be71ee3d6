//! The class-conditional U-Net for images: two levels down and back up with skips, one
//! residual block per level (one or more at the lowest), time and class embeddings added in
//! every block; and [`Conditioned`], the network with the labels and classifier-free guidance
//! a run asks for.

use crate::nets::conv_op::forward as conv;
use crate::nets::norm_op::forward as norm;
use crate::nets::silu_op::silu;
use crate::nets::time::{noise_fraction, time_features};
use crate::sampling::score::{Predictor, Rows};
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// A residual block: two 3×3 convolutions with group norm, the embedding added in between.
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    emb: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

/// The channels (1 grey, 3 RGB) and side of square images of `dim` values: unambiguous,
/// since `3·s²` is never a square.
pub fn image_shape(dim: usize) -> Option<(usize, usize)> {
    [1, 3].into_iter().find_map(|c| {
        let side = ((dim / c) as f64).sqrt().round() as usize;
        (side > 1 && c * side * side == dim).then_some((c, side))
    })
}

/// A 3×3 convolution with padding 1 (`stride` 2 halves the side).
pub(crate) fn conv3(i: usize, o: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

fn groups(c: usize) -> usize {
    [8, 4, 2, 1].into_iter().find(|g| c.is_multiple_of(*g)).unwrap_or(1)
}

impl ResBlock {
    fn new(i: usize, o: usize, emb: usize, device: &Device) -> Self {
        ResBlock {
            norm1: GroupNormConfig::new(groups(i), i).init(device),
            conv1: conv3(i, o, 1, device),
            emb: LinearConfig::new(emb, o).init(device),
            norm2: GroupNormConfig::new(groups(o), o).init(device),
            conv2: conv3(o, o, 1, device),
            skip: (i != o).then(|| Conv2dConfig::new([i, o], [1, 1]).init(device)),
        }
    }

    fn forward(&self, x: Tensor<4>, emb: Tensor<2>) -> Tensor<4> {
        let h = conv(&self.conv1, silu(norm(&self.norm1, x.clone())));
        let h = h + self.emb.forward(silu(emb)).unsqueeze_dim::<3>(2).unsqueeze_dim::<4>(3);
        let h = conv(&self.conv2, silu(norm(&self.norm2, h)));
        let skip = match &self.skip {
            Some(c) => conv(c, x),
            None => x,
        };
        h + skip
    }
}

/// Nearest-neighbour ×2 upsampling.
fn upsample(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1]).expand([b, c, h, 2, w, 2]).reshape([b, c, 2 * h, 2 * w])
}

/// Sizes of a [`UNet`] for `colours × side × side` images.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UNetConfig {
    pub side: usize,
    /// Channels of the image: 1 grey, 3 RGB (files from before colour models say nothing: 1).
    #[serde(default = "grey")]
    pub colours: usize,
    /// Width: feature channels at the first level (twice as many below).
    pub channels: usize,
    pub emb: usize,
    /// Classes; label `classes` is the null label of classifier-free guidance.
    pub classes: usize,
    /// Channels at the lowest level (7 × 7 for 28 × 28 images), where a convolution costs a
    /// sixteenth of one at full size: the cheap place for capacity. `None` (files from before
    /// this field): twice `channels`, like the middle level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom: Option<usize>,
    /// Residual blocks at the lowest level (files from before this field: 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub mid_blocks: usize,
}

impl Default for UNetConfig {
    fn default() -> Self {
        UNetConfig { side: 28, colours: 1, channels: 16, emb: 64, classes: 10, bottom: None, mid_blocks: 1 }
    }
}

fn grey() -> usize {
    1
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// Two levels down (28 → 14 → 7) and back up, with skips; time and class enter every block.
#[derive(Module, Debug)]
pub struct UNet {
    time1: Linear,
    time2: Linear,
    label: Embedding,
    conv_in: Conv2d,
    down1: ResBlock,
    pool1: Conv2d,
    down2: ResBlock,
    pool2: Conv2d,
    mid: ResBlock,
    /// The lowest level's blocks after `mid` (`mid_blocks - 1`; none in files from before).
    mid_rest: Vec<ResBlock>,
    up2: ResBlock,
    up1: ResBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl UNetConfig {
    pub fn init(&self, device: &Device) -> UNet {
        let (c, e, b) = (self.channels, self.emb, self.bottom());
        UNet {
            time1: LinearConfig::new(e, e).init(device),
            time2: LinearConfig::new(e, e).init(device),
            label: EmbeddingConfig::new(self.classes + 1, e).init(device),
            conv_in: conv3(self.colours, c, 1, device),
            down1: ResBlock::new(c, c, e, device),
            pool1: conv3(c, 2 * c, 2, device),
            down2: ResBlock::new(2 * c, 2 * c, e, device),
            pool2: conv3(2 * c, b, 2, device),
            mid: ResBlock::new(b, b, e, device),
            mid_rest: (1..self.lowest_blocks()).map(|_| ResBlock::new(b, b, e, device)).collect(),
            up2: ResBlock::new(b + 2 * c, 2 * c, e, device),
            up1: ResBlock::new(3 * c, c, e, device),
            norm_out: GroupNormConfig::new(groups(c), c).init(device),
            conv_out: conv3(c, self.colours, 1, device),
        }
    }

    /// Channels at the lowest level.
    pub fn bottom(&self) -> usize {
        self.bottom.unwrap_or(2 * self.channels)
    }

    /// Residual blocks at the lowest level: `mid` is always there, so at least one.
    fn lowest_blocks(&self) -> usize {
        self.mid_blocks.max(1)
    }

    /// Values per image, `C·S·S` (one row of a batch).
    pub fn dim(&self) -> usize {
        self.colours * self.side * self.side
    }

    /// Multiply-accumulates of one forward pass of one image, ×2 for FLOPs.
    pub fn flops(&self) -> f64 {
        let (c, s, k) = (self.channels as f64, self.side as f64, self.colours as f64);
        let (b, mids) = (self.bottom() as f64, self.lowest_blocks() as f64);
        let conv = |i: f64, o: f64, side: f64, k: f64| i * o * k * side * side;
        let block = |i: f64, o: f64, side: f64| {
            conv(i, o, side, 9.0) + conv(o, o, side, 9.0) + if i != o { conv(i, o, side, 1.0) } else { 0.0 }
        };
        let (s2, s4) = (s / 2.0, s / 4.0);
        2.0 * (conv(k, c, s, 9.0)
            + block(c, c, s)
            + conv(c, 2.0 * c, s2, 9.0)
            + block(2.0 * c, 2.0 * c, s2)
            + conv(2.0 * c, b, s4, 9.0)
            + mids * block(b, b, s4)
            + block(b + 2.0 * c, 2.0 * c, s2)
            + block(3.0 * c, c, s)
            + conv(c, k, s, 9.0))
    }
}

impl UNet {
    /// `x: [B, C, S, S]`, `t: [B]`, `labels: [B]` -> velocity `[B, C, S, S]`.
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1>, labels: Tensor<1, Int>) -> Tensor<4> {
        let e = self.time1.weight.dims()[0];
        let temb = self.time2.forward(silu(self.time1.forward(time_features(t, e))));
        let emb = temb + self.label.forward(labels.unsqueeze_dim::<2>(1)).squeeze_dim::<2>(1);
        let h0 = conv(&self.conv_in, x);
        let h1 = self.down1.forward(h0, emb.clone());
        let h2 = self.down2.forward(conv(&self.pool1, h1.clone()), emb.clone());
        let m = self.mid.forward(conv(&self.pool2, h2.clone()), emb.clone());
        let m = self.mid_rest.iter().fold(m, |m, block| block.forward(m, emb.clone()));
        let u2 = self.up2.forward(Tensor::cat(vec![upsample(m), h2], 1), emb.clone());
        let u1 = self.up1.forward(Tensor::cat(vec![upsample(u2), h1], 1), emb);
        conv(&self.conv_out, silu(norm(&self.norm_out, u1)))
    }
}

/// A U-Net with its conditioning: one class per sample (the null label for none), cycled
/// over the run's samples from `first` on (sample k has `labels[(first + k) % labels.len()]`,
/// whichever row of a batch holds it), and the classifier-free guidance scale `w`:
/// `v = v_null + w·(v_class - v_null)`.
pub struct Conditioned {
    pub net: UNet,
    pub config: UNetConfig,
    pub labels: Vec<usize>,
    pub first: usize,
    pub cfg: f64,
}

impl Conditioned {
    /// The label of each of `b` rows laid out as `rows` says (the CFG null label when `null`).
    pub(crate) fn label_ids(&self, b: usize, null: bool, rows: Rows) -> Vec<usize> {
        let cycle = self.labels.len().max(1);
        (0..b)
            .map(|r| if null { self.config.classes } else { self.labels[(self.first + rows.sample(r)) % cycle] })
            .collect()
    }

    fn labels(&self, b: usize, null: bool, rows: Rows, device: &Device) -> Tensor<1, Int> {
        let ids = self.label_ids(b, null, rows).into_iter().map(|i| i as i64).collect();
        Tensor::from_data(TensorData::new(ids, [b]), device)
    }
}

impl Predictor for Conditioned {
    fn dim(&self) -> usize {
        self.config.dim()
    }
    fn flops(&self) -> f64 {
        let passes = if self.labels.is_empty() || self.cfg == 1.0 { 1.0 } else { 2.0 };
        passes * self.config.flops()
    }
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2> {
        let [b, d] = x.dims();
        let s = self.config.side;
        let device = x.device();
        let img = x.reshape([b, self.config.colours, s, s]);
        let t = noise_fraction(b, lambda, &device);
        let unconditional = self.labels.is_empty();
        if unconditional || self.cfg == 1.0 {
            return self.net.forward(img, t, self.labels(b, unconditional, rows, &device)).reshape([b, d]);
        }
        // one pass over [class; null]
        let both = self.net.forward(
            Tensor::cat(vec![img.clone(), img], 0),
            Tensor::cat(vec![t.clone(), t], 0),
            Tensor::cat(vec![self.labels(b, false, rows, &device), self.labels(b, true, rows, &device)], 0),
        );
        let cond = both.clone().narrow(0, 0, b).reshape([b, d]);
        let null = both.narrow(0, b, b).reshape([b, d]);
        null.clone() + (cond - null).mul_scalar(self.cfg)
    }
}

/// A [`ResBlock`]'s layers, borrowed (for the host inference path, [`crate::nets::host`]).
pub(crate) struct BlockLayers<'a> {
    pub norm1: &'a GroupNorm,
    pub conv1: &'a Conv2d,
    pub emb: &'a Linear,
    pub norm2: &'a GroupNorm,
    pub conv2: &'a Conv2d,
    pub skip: Option<&'a Conv2d>,
}

/// A [`UNet`]'s layers, borrowed; `blocks` in forward order: down1, down2, the lowest
/// level's (`mid_blocks` of them), up2, up1.
pub(crate) struct UNetLayers<'a> {
    pub time: [&'a Linear; 2],
    pub label: &'a Embedding,
    pub conv_in: &'a Conv2d,
    pub pools: [&'a Conv2d; 2],
    pub blocks: Vec<BlockLayers<'a>>,
    pub norm_out: &'a GroupNorm,
    pub conv_out: &'a Conv2d,
}

impl ResBlock {
    fn layers(&self) -> BlockLayers<'_> {
        BlockLayers {
            norm1: &self.norm1,
            conv1: &self.conv1,
            emb: &self.emb,
            norm2: &self.norm2,
            conv2: &self.conv2,
            skip: self.skip.as_ref(),
        }
    }
}

impl UNet {
    /// Read access to the layers, for copying their weights.
    pub(crate) fn layers(&self) -> UNetLayers<'_> {
        UNetLayers {
            time: [&self.time1, &self.time2],
            label: &self.label,
            conv_in: &self.conv_in,
            pools: [&self.pool1, &self.pool2],
            blocks: [&self.down1, &self.down2, &self.mid]
                .into_iter()
                .chain(&self.mid_rest)
                .chain([&self.up2, &self.up1])
                .map(ResBlock::layers)
                .collect(),
            norm_out: &self.norm_out,
            conv_out: &self.conv_out,
        }
    }
}
