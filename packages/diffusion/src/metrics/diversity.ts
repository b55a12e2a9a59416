// Diversity of generated samples as judged by the MNIST classifier.

/** Shannon entropy, in bits, of the histogram of argmax classes (log2(10) ~ 3.32 when balanced). */
export function classEntropyBits(probs: ArrayLike<number>, count: number, classes: number): number {
  const hist = new Float64Array(classes);
  for (let n = 0; n < count; n++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[n * classes + k] > probs[n * classes + best]) best = k;
    hist[best]++;
  }
  let h = 0;
  for (const c of hist) if (c > 0) h -= (c / count) * Math.log2(c / count);
  return h;
}

/**
 * An Inception-Score-like figure from the MNIST classifier (Salimans et al. 2016, arXiv
 * 1606.03498, with our classifier in place of Inception): exp(E_x KL(p(y|x) || p(y))).
 * 1 = no class information or a single class; 10 = confident and balanced over 10 classes.
 */
export function inceptionScore(probs: ArrayLike<number>, count: number, classes: number): number {
  const eps = 1e-12;
  const marginal = new Float64Array(classes);
  for (let n = 0; n < count; n++) for (let k = 0; k < classes; k++) marginal[k] += probs[n * classes + k] / count;
  let kl = 0;
  for (let n = 0; n < count; n++) {
    for (let k = 0; k < classes; k++) {
      const p = probs[n * classes + k];
      if (p > 0) kl += p * (Math.log(p + eps) - Math.log(marginal[k] + eps));
    }
  }
  return Math.exp(kl / count);
}
