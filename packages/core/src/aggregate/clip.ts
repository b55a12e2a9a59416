// Norm clipping of an update before it is averaged (as in DP-FedAvg, McMahan et al., "Learning
// Differentially Private Recurrent Language Models", ICLR 2018, arXiv 1710.06963): one device's
// outsized update cannot drag the global model further than clipNorm.

/** min(1, clipNorm / ||x||): the factor that scales an update of squared norm normSq to at most clipNorm. */
export function clipFactor(normSq: number, clipNorm: number): number {
  const norm = Math.sqrt(normSq);
  return norm > clipNorm ? clipNorm / norm : 1;
}
