# The project's own velocity for the peer's exactness check (unet_onnx.py's check.json), read
# off one Euler step of the plain ODE: `dg sample --steps 1` steps λ from -10 to 10 on the
# linear path, x1 = x0 + 20·dx/dλ with dx/dλ = -½·α·σ·v(x0, t = σ), α = sigmoid(λ/2),
# σ = sigmoid(-λ/2) at λ = -10. The division by 20·½·α·σ ≈ 0.0665 scales f32 rounding by 15.
# Usage: dg sample --model fashion --steps 1 --batch 4 --logp off > one.json
#        python3 check_from_one_step.py one.json check.json
import json
import math
import sys

sample = json.load(open(sys.argv[1]))
lam = -10.0
alpha, sigma = 1 / (1 + math.exp(-lam / 2)), 1 / (1 + math.exp(lam / 2))
scale = 20 * 0.5 * alpha * sigma
x0 = [v for row in sample["latent"] for v in row]
x1 = [v for row in sample["samples"] for v in row]
batch = len(sample["latent"])
check = {
    "x": x0,
    "t": [sigma] * batch,
    "labels": [i % 10 for i in range(batch)],
    "v": [(a - b) / scale for a, b in zip(x0, x1)],
}
json.dump(check, open(sys.argv[2], "w"))
