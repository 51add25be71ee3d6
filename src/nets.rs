//! The trained velocity networks (linear flow matching, SPEC 1): an MLP for the 2-D lab and a
//! small class-conditional U-Net for 28×28 images. Both see the noise fraction `t = σ(λ)`.

use crate::conv_op::forward as conv;
use crate::error::{Error, Result};
use crate::rng::tensor2;
use crate::schedule::Path;
use crate::score::{FromPrediction, Prediction, Predictor, Rows};
use crate::silu_op::silu;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Sinusoidal features of t ∈ [0, 1], `[B] -> [B, dim]`.
fn time_features(t: Tensor<1>, dim: usize) -> Tensor<2> {
    let half = dim / 2;
    let freqs: Vec<f64> = (0..half).map(|i| 1000f64.powf(i as f64 / half as f64)).collect();
    let device = t.device();
    let f = tensor2(freqs, 1, half, &device);
    let arg = t.unsqueeze_dim::<2>(1).mul_scalar(std::f64::consts::PI) * f;
    Tensor::cat(vec![arg.clone().sin(), arg.cos()], 1)
}

/// The 2-D lab's velocity network: `[x, time features] -> 4 hidden SiLU layers -> v`.
#[derive(Module, Debug)]
pub struct Mlp {
    input: Linear,
    hidden: Vec<Linear>,
    output: Linear,
}

/// Sizes of an [`Mlp`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpConfig {
    pub dim: usize,
    pub width: usize,
    pub depth: usize,
    pub time_dim: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig { dim: 2, width: 128, depth: 3, time_dim: 32 }
    }
}

impl MlpConfig {
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            input: LinearConfig::new(self.dim + self.time_dim, self.width).init(device),
            hidden: (0..self.depth).map(|_| LinearConfig::new(self.width, self.width).init(device)).collect(),
            output: LinearConfig::new(self.width, self.dim).init(device),
        }
    }
}

impl Mlp {
    /// `x: [B, D]`, `t: [B]` -> velocity `[B, D]`.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<1>) -> Tensor<2> {
        let time_dim = self.input.weight.dims()[0] - x.dims()[1];
        let mut h = silu(self.input.forward(Tensor::cat(vec![x, time_features(t, time_dim)], 1)));
        for layer in &self.hidden {
            h = silu(layer.forward(h));
        }
        self.output.forward(h)
    }
}

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
        let h = conv(&self.conv1, silu(self.norm1.forward(x.clone())));
        let h = h + self.emb.forward(silu(emb)).unsqueeze_dim::<3>(2).unsqueeze_dim::<4>(3);
        let h = conv(&self.conv2, silu(self.norm2.forward(h)));
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

/// Sizes of a [`UNet`] for `side × side` grey images.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UNetConfig {
    pub side: usize,
    pub channels: usize,
    pub emb: usize,
    /// Classes; label `classes` is the null label of classifier-free guidance.
    pub classes: usize,
}

impl Default for UNetConfig {
    fn default() -> Self {
        UNetConfig { side: 28, channels: 16, emb: 64, classes: 10 }
    }
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
    up2: ResBlock,
    up1: ResBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl UNetConfig {
    pub fn init(&self, device: &Device) -> UNet {
        let (c, e) = (self.channels, self.emb);
        UNet {
            time1: LinearConfig::new(e, e).init(device),
            time2: LinearConfig::new(e, e).init(device),
            label: EmbeddingConfig::new(self.classes + 1, e).init(device),
            conv_in: conv3(1, c, 1, device),
            down1: ResBlock::new(c, c, e, device),
            pool1: conv3(c, 2 * c, 2, device),
            down2: ResBlock::new(2 * c, 2 * c, e, device),
            pool2: conv3(2 * c, 2 * c, 2, device),
            mid: ResBlock::new(2 * c, 2 * c, e, device),
            up2: ResBlock::new(4 * c, 2 * c, e, device),
            up1: ResBlock::new(3 * c, c, e, device),
            norm_out: GroupNormConfig::new(groups(c), c).init(device),
            conv_out: conv3(c, 1, 1, device),
        }
    }

    /// Multiply-accumulates of one forward pass of one image, ×2 for FLOPs.
    pub fn flops(&self) -> f64 {
        let (c, s) = (self.channels as f64, self.side as f64);
        let conv = |i: f64, o: f64, side: f64, k: f64| i * o * k * side * side;
        let block = |i: f64, o: f64, side: f64| {
            conv(i, o, side, 9.0) + conv(o, o, side, 9.0) + if i != o { conv(i, o, side, 1.0) } else { 0.0 }
        };
        let (s2, s4) = (s / 2.0, s / 4.0);
        2.0 * (conv(1.0, c, s, 9.0)
            + block(c, c, s)
            + conv(c, 2.0 * c, s2, 9.0)
            + block(2.0 * c, 2.0 * c, s2)
            + conv(2.0 * c, 2.0 * c, s4, 9.0)
            + block(2.0 * c, 2.0 * c, s4)
            + block(4.0 * c, 2.0 * c, s2)
            + block(3.0 * c, c, s)
            + conv(c, 1.0, s, 9.0))
    }
}

impl UNet {
    /// `x: [B, 1, S, S]`, `t: [B]`, `labels: [B]` -> velocity `[B, 1, S, S]`.
    pub fn forward(&self, x: Tensor<4>, t: Tensor<1>, labels: Tensor<1, Int>) -> Tensor<4> {
        let e = self.time1.weight.dims()[0];
        let temb = self.time2.forward(silu(self.time1.forward(time_features(t, e))));
        let emb = temb + self.label.forward(labels.unsqueeze_dim::<2>(1)).squeeze_dim::<2>(1);
        let h0 = conv(&self.conv_in, x);
        let h1 = self.down1.forward(h0, emb.clone());
        let h2 = self.down2.forward(conv(&self.pool1, h1.clone()), emb.clone());
        let m = self.mid.forward(conv(&self.pool2, h2.clone()), emb.clone());
        let u2 = self.up2.forward(Tensor::cat(vec![upsample(m), h2], 1), emb.clone());
        let u1 = self.up1.forward(Tensor::cat(vec![upsample(u2), h1], 1), emb);
        conv(&self.conv_out, silu(self.norm_out.forward(u1)))
    }
}

/// The noise fraction `t = σ(λ)` of the linear path, for a batch.
fn noise_fraction(b: usize, lambda: f64, device: &Device) -> Tensor<1> {
    Tensor::full([b], Path::Linear.sigma(lambda), device)
}

impl Predictor for Mlp {
    fn dim(&self) -> usize {
        self.output.weight.dims()[1]
    }
    fn flops(&self) -> f64 {
        let layers = std::iter::once(&self.input).chain(&self.hidden).chain(std::iter::once(&self.output));
        layers.map(|l| 2.0 * l.weight.shape().num_elements() as f64).sum()
    }
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, _rows: Rows) -> Tensor<2> {
        let [b, _] = x.dims();
        let t = noise_fraction(b, lambda, &x.device());
        self.forward(x, t)
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
        self.config.side * self.config.side
    }
    fn flops(&self) -> f64 {
        let passes = if self.labels.is_empty() || self.cfg == 1.0 { 1.0 } else { 2.0 };
        passes * self.config.flops()
    }
    fn predict_rows(&self, x: Tensor<2>, lambda: f64, rows: Rows) -> Tensor<2> {
        let [b, d] = x.dims();
        let s = self.config.side;
        let device = x.device();
        let img = x.reshape([b, 1, s, s]);
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

/// A trained velocity network as a score model on the linear path.
pub fn score_model<P: Predictor>(net: P) -> FromPrediction<P> {
    FromPrediction { net, kind: Prediction::Velocity, path: Path::Linear }
}

/// Checks a loaded file's tensors against the shapes a config expects: a wrong-shaped or
/// truncated file is an error naming it, never a panic.
pub fn check_loaded(
    path: &str,
    result: std::result::Result<burn::store::ApplyResult, impl std::fmt::Display>,
) -> Result<()> {
    let applied = result.map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        return Err(Error::Model {
            path: path.into(),
            reason: format!(
                "does not fit the architecture: {} errors, missing {:?}",
                applied.errors.len(),
                applied.missing.iter().take(3).collect::<Vec<_>>()
            ),
        });
    }
    Ok(())
}

/// A trained network as its weights file describes it.
#[allow(clippy::large_enum_variant)] // one per model; boxing would only add a hop
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

/// A safetensors file's bytes as a store that casts its floats (f32 or f16 in files) to the
/// device's precision (which may be f64).
pub(crate) fn weights_store(bytes: Vec<u8>, device: &Device) -> burn::store::SafetensorsStore {
    use burn::store::{FloatCastAdapter, SafetensorsStore};
    SafetensorsStore::from_bytes(Some(bytes))
        .with_from_adapter(FloatCastAdapter::to(device.settings().float_dtype.into()))
}

/// Writes a module's weights with `arch` in the `dg` metadata entry (what [`Net::from_bytes`]
/// reads back); `half` stores the floats as f16.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn save_with_arch<M: burn::store::ModuleSnapshot>(m: &M, arch: &Arch, path: &str, half: bool) -> Result<()> {
    use burn::store::{FloatCastAdapter, SafetensorsStore};
    let meta = serde_json::to_string(arch).expect("serialisable");
    let mut store = SafetensorsStore::from_file(path).metadata("dg", meta).overwrite(true);
    if half {
        store = store.with_to_adapter(FloatCastAdapter::to(burn::tensor::DType::F16));
    }
    m.save_into(&mut store).map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })
}

/// The `dg` entry of a safetensors header: 8 bytes of little-endian length, then JSON.
fn read_arch(bytes: &[u8]) -> std::result::Result<Arch, String> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or("not a safetensors file (shorter than 8 bytes)")?;
    let header = usize::try_from(len)
        .ok()
        .and_then(|n| bytes.get(8..8usize.checked_add(n)?))
        .ok_or("truncated safetensors header")?;
    let header: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("bad safetensors header: {e}"))?;
    let meta = header
        .get("__metadata__")
        .and_then(|m| m.get("dg"))
        .and_then(|m| m.as_str())
        .ok_or("no 'dg' architecture in the metadata: not a dg weights file")?;
    serde_json::from_str(meta).map_err(|e| format!("bad architecture in the metadata: {e}"))
}

/// A [`ResBlock`]'s layers, borrowed (for the host inference path, [`crate::host_net`]).
pub(crate) struct BlockLayers<'a> {
    pub norm1: &'a GroupNorm,
    pub conv1: &'a Conv2d,
    pub emb: &'a Linear,
    pub norm2: &'a GroupNorm,
    pub conv2: &'a Conv2d,
    pub skip: Option<&'a Conv2d>,
}

/// A [`UNet`]'s layers, borrowed; `blocks` in forward order: down1, down2, mid, up2, up1.
pub(crate) struct UNetLayers<'a> {
    pub time: [&'a Linear; 2],
    pub label: &'a Embedding,
    pub conv_in: &'a Conv2d,
    pub pools: [&'a Conv2d; 2],
    pub blocks: [BlockLayers<'a>; 5],
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
            blocks: [self.down1.layers(), self.down2.layers(), self.mid.layers(), self.up2.layers(), self.up1.layers()],
            norm_out: &self.norm_out,
            conv_out: &self.conv_out,
        }
    }
}
