//! A small Fashion-MNIST classifier, trained here, whose penultimate features measure sample
//! quality (a Fréchet distance, like FID with a network fitted to this data) and whose
//! predictions say whether a conditional sample shows the garment it was asked for.

use crate::data::ImageSet;
use crate::data::fashion::CLASSES;
use crate::error::{Error, Result};
use crate::nets::unet::conv3;
use crate::sampling::rng::HostRng;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::{log_softmax, silu};
use burn::tensor::{Device, Tensor, TensorData};

/// Width of the feature vector the Fréchet distance compares.
pub const FEATURES: usize = 128;

/// Three 3×3 convolutions (28 → 28 → 14 → 7), a 128-d feature layer, ten logits.
#[derive(Module, Debug)]
pub struct Classifier {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    features: Linear,
    logits: Linear,
}

impl Classifier {
    pub fn new(device: &Device) -> Self {
        Classifier {
            conv1: conv3(1, 16, 1, device),
            conv2: conv3(16, 32, 2, device),
            conv3: conv3(32, 64, 2, device),
            features: LinearConfig::new(64 * 7 * 7, FEATURES).init(device),
            logits: LinearConfig::new(FEATURES, CLASSES.len()).init(device),
        }
    }

    /// Rows of 784 pixels in [-1, 1] -> `[B, FEATURES]`.
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        let b = x.dims()[0];
        let h = silu(self.conv1.forward(x.reshape([b, 1, 28, 28])));
        let h = silu(self.conv3.forward(silu(self.conv2.forward(h))));
        silu(self.features.forward(h.reshape([b, 64 * 7 * 7])))
    }

    pub fn logits(&self, features: Tensor<2>) -> Tensor<2> {
        self.logits.forward(features)
    }

    /// Features and predicted classes of host rows, in batches.
    pub fn classify(&self, images: &[Vec<f64>], device: &Device) -> Result<(Vec<Vec<f64>>, Vec<usize>)> {
        let (mut feats, mut classes) = (Vec::new(), Vec::new());
        for chunk in images.chunks(256) {
            let x = crate::sampling::sampler::rows(chunk, 784, "images", device)?;
            let f = self.features(x);
            let pred = self.logits(f.clone()).argmax(1).reshape([chunk.len()]).float();
            classes.extend(crate::sampling::sampler::host1(pred)?.into_iter().map(|c| c as usize));
            feats.extend(crate::sampling::sampler::host2(f)?);
        }
        Ok((feats, classes))
    }

    /// Reads a file written by [`train`]; wrong shapes or a truncated file are errors.
    pub fn load(bytes: Vec<u8>, origin: &str, device: &Device) -> Result<Self> {
        let mut net = Classifier::new(device);
        crate::nets::check_loaded(origin, net.load_from(&mut crate::nets::weights::weights_store(bytes, device)))?;
        Ok(net)
    }

    pub fn save(&self, path: &str) -> Result<()> {
        self.save_into(&mut SafetensorsStore::from_file(path).overwrite(true))
            .map_err(|e| Error::Model { path: path.into(), reason: e.to_string() })
    }
}

/// Images `[from, to)` of a set as host rows and their labels.
pub fn rows_of(images: &ImageSet, range: std::ops::Range<usize>) -> (Vec<Vec<f64>>, Vec<usize>) {
    let rows = range.clone().map(|i| images.row(i).iter().map(|&p| f64::from(p)).collect()).collect();
    (rows, range.map(|i| usize::from(images.labels[i])).collect())
}

/// Fraction of images whose predicted class is their label.
pub fn accuracy(net: &Classifier, images: &ImageSet, device: &Device) -> Result<f64> {
    let (rows, labels) = rows_of(images, 0..images.len());
    let (_, pred) = net.classify(&rows, device)?;
    Ok(agreement(&pred, &labels))
}

/// Fraction of predictions equal to their labels.
pub fn agreement(pred: &[usize], labels: &[usize]) -> f64 {
    pred.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / labels.len().max(1) as f64
}

/// Cross-entropy training with Adam (cosine decay), on random batches with ±2-pixel shifts;
/// `progress(step, loss)` every 50 steps.
pub fn train(
    images: &ImageSet,
    steps: usize,
    batch: usize,
    lr: f64,
    seed: u64,
    device: &Device,
    mut progress: impl FnMut(usize, f64),
) -> Result<Classifier> {
    if steps == 0 || batch == 0 {
        return Err(Error::invalid(if steps == 0 { "steps" } else { "batch" }, "must be at least 1"));
    }
    let ad = device.clone().autodiff();
    ad.seed(seed);
    let mut net = Classifier::new(&ad);
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut rng = HostRng::new(seed);
    let k = CLASSES.len();
    for step in 0..steps {
        let (mut pix, mut onehot) = (Vec::with_capacity(batch * 784), vec![0f32; batch * k]);
        for j in 0..batch {
            let i = (rng.uniform() * images.len() as f64) as usize % images.len();
            let (dx, dy) = ((rng.uniform() * 5.0) as i64 - 2, (rng.uniform() * 5.0) as i64 - 2);
            let row = images.row(i);
            for y in 0..28i64 {
                for x in 0..28i64 {
                    let (sx, sy) = (x - dx, y - dy);
                    let inside = (0..28).contains(&sx) && (0..28).contains(&sy);
                    pix.push(if inside { row[(sy * 28 + sx) as usize] } else { -1.0 });
                }
            }
            onehot[j * k + usize::from(images.labels[i])] = 1.0;
        }
        let x = Tensor::<2>::from_data(TensorData::new(pix, [batch, 784]), &ad);
        let y = Tensor::<2>::from_data(TensorData::new(onehot, [batch, k]), &ad);
        let loss = (log_softmax(net.logits(net.features(x)), 1) * y).sum_dim(1).mean().neg();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(crate::training::flow::cosine(lr, step as f64 / steps as f64), net, grads);
        if step % 50 == 0 || step + 1 == steps {
            progress(step + 1, loss.inner().into_scalar::<f64>());
        }
    }
    Ok(crate::training::flow::detach(net))
}
